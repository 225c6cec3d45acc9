"""The resource contract, declared once and shared by every collection of every service.

A service declares a model (``ResourceMixin`` + its columns), pydantic schemas and a ``Collection``
whose hooks hold its rules; ``crud_router`` then gives it list with filters and keyset pagination,
batch get, get by id with ETag, idempotent create, PATCH with If-Match, archive on DELETE, reference
checks, need-to-know and the change feed. Every write runs the one pipeline in ``pipeline``.

- ``model``: the columns every resource has, the base of bodies and representations, ``RefField``
- ``params``: query parameters and headers of the standard endpoints
- ``collection``: ``Collection``: representation, queries, and the hooks for domain rules
- ``pipeline``: the order every write runs in (``Operation``, ``create``, ``update``, ``act``, ...)
- ``routers``: ``crud_router``, ``nested_router``, ``references_router`` and the write guard
"""

from services.chassis.resources.collection import COLLECTIONS, Collection, reject_nulls
from services.chassis.resources.model import ARCHIVED, META_FIELDS, Input, Person, RefField, ResourceMixin, ResourceRead
from services.chassis.resources.params import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatch,
    IfMatchOptional,
    IfNoneMatch,
    ListQuery,
    ReferencesQuery,
    ResourceId,
    any_of,
)
from services.chassis.resources.pipeline import Operation, Precondition
from services.chassis.resources.routers import (
    ReferencingItem,
    created_headers,
    crud_router,
    guarded,
    nested_router,
    references_router,
    single_headers,
    write,
)

__all__ = [
    "ARCHIVED",
    "COLLECTIONS",
    "ETAG_HEADER",
    "LOCATION_HEADER",
    "META_FIELDS",
    "Collection",
    "IfMatch",
    "IfMatchOptional",
    "IfNoneMatch",
    "Input",
    "ListQuery",
    "Operation",
    "Person",
    "Precondition",
    "RefField",
    "ReferencesQuery",
    "ReferencingItem",
    "ResourceId",
    "ResourceMixin",
    "ResourceRead",
    "any_of",
    "created_headers",
    "crud_router",
    "guarded",
    "nested_router",
    "references_router",
    "reject_nulls",
    "single_headers",
    "write",
]
