"""Small helpers the domains of this service share."""

from __future__ import annotations

import datetime as dt

from services.chassis.db import utcnow


def today() -> dt.date:
    return utcnow().date()
