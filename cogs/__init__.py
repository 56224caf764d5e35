"""Archivist's feature cogs: thin Discord front ends over bot.services."""
