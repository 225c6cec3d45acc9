"""Text every database can store: no NUL characters, nothing that is not valid Unicode.

PostgreSQL refuses NUL in text and both drivers refuse lone surrogates, so such input is turned
away at the edge with a 4xx instead of failing deep inside a query.
"""

from __future__ import annotations

from typing import Any


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if "\x00" in value:
        return "may not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def check_text_tree(value: Any) -> Any:
    """Raise ValueError for any string in ``value`` (nested lists and dicts too) that cannot be stored."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text_tree(key)
            check_text_tree(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_text_tree(item)
    return value
