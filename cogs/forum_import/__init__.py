"""Forum import: bringing a community's Discourse topics in as episodes and research."""
