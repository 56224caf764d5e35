"""Archivist's rules as plain Python: no discord import anywhere in this package."""
