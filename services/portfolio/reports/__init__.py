"""Reports computed in the database: the run:renewal ratio of a round, per chain, and its trend."""
