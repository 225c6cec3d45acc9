"""Reports computed in the database."""
