"""Author assignment: claims, assignments, volunteer requests and their review."""
