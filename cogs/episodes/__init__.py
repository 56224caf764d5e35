"""Episodes: the forum post per episode, its status card, tags, notes and history."""
