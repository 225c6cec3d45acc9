"""Canonical JSON: one text for one value, so that a hash over it is stable.

Keys sorted, no whitespace, non-ASCII characters as themselves (UTF-8 when encoded), and whatever
JSON has no type for (datetimes, decimals, UUIDs) as its ``str``. The change feed's hash chain is
computed over this text: changing it would break the verification of every existing feed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``, encoded as UTF-8."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
