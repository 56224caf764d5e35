"""Use cases: each service validates, checks permissions, writes through storage, then updates Discord."""
