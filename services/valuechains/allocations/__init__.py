"""Allocations: each chain owner's split of a period's budget between maintenance, security and renewal."""
