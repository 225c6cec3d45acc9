"""Server-generated, opaque, time-sortable identifiers (UUIDv7)."""

import uuid_utils


def new_id() -> str:
    return str(uuid_utils.uuid7())
