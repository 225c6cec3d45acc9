"""Reports over chains, teams and allocations, computed in the database."""
