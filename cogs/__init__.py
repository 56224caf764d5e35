"""Archivist's feature cogs: one package per feature: its cog, service, store, rules and views."""
