"""The one prefix-to-service table of the suite.

An href is a resource's path through the gateway, ``/<service>/v1/<collection>/<id>``. The gateway
routes by the first segment; services use the same table to check references they receive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVICES: tuple[str, ...] = ("valuechains", "portfolio", "principles")

HREF_PATTERN = rf"^/({'|'.join(SERVICES)})/v1/[a-z][a-z_-]*(/[A-Za-z0-9_-]{{1,64}})?$"
"""An href of this platform, for OpenAPI documents (``parse_href`` says the same)."""

# ``\Z``, not ``$``: an href with a trailing newline is not the href without it.
_HREF = re.compile(r"^/(?P<service>[a-z]+)/v1/(?P<collection>[a-z][a-z_-]*)(?:/(?P<id>[A-Za-z0-9_-]{1,64}))?\Z")


@dataclass(frozen=True)
class Href:
    service: str
    collection: str
    id: str | None

    @property
    def collection_path(self) -> str:
        return f"/{self.service}/v1/{self.collection}"

    def __str__(self) -> str:
        return self.collection_path + (f"/{self.id}" if self.id else "")


def parse_href(href: str) -> Href | None:
    """Split an href into service, collection and id; ``None`` when it is not one of ours."""
    match = _HREF.match(href)
    if not match or match["service"] not in SERVICES:
        return None
    return Href(match["service"], match["collection"], match["id"])
