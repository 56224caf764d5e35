"""What members see: embeds, pagers and other shared Discord UI pieces."""
