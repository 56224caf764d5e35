"""/help: the commands a member can use, grouped."""
