"""What every resource is made of: the columns every row has, the base of every request body and
of every representation, and how a field points at another resource."""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar, Union

from annotated_types import MinLen
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.chassis.dates import iso_day
from services.chassis.db import UTCDateTime, utcnow
from services.chassis.ids import new_id
from services.chassis.text import check_text_tree

ARCHIVED = "archived"
META_FIELDS = frozenset({"id", "href", "version", "created_at", "updated_at"})


class ResourceMixin:
    """Columns every resource has: opaque time-sortable id, version, status, timestamps."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        # The ORM turns every flush of a changed row into a compare-and-swap:
        # UPDATE ... SET version = v + 1 WHERE id = :id AND version = v, and raises on 0 rows.
        return {"version_id_col": cls.version}


M = TypeVar("M", bound=ResourceMixin)


def _scalar(annotation: Any) -> Any:
    """The scalar type of a field (``int | None`` and ``Annotated[int, ...]`` are ``int``)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar(options[0]) if len(options) == 1 else None
    return annotation


def strict_scalar(annotation: Any, value: Any) -> None:
    """Strict types in bodies: a number is a JSON number and a yes/no a JSON boolean, as the
    document says, never ``"5"``, ``5.0`` or ``1`` for ``true`` (pydantic's lax mode takes them)."""
    kind = _scalar(annotation)
    if value is None:
        return
    if kind is dt.date:
        iso_day(value)
    if kind is bool and not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a JSON boolean, true or false")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise PydanticCustomError("int_type", "Input should be a JSON integer")
    if kind in (float, Decimal) and (isinstance(value, bool) or not isinstance(value, int | float | Decimal)):
        raise PydanticCustomError("float_type", "Input should be a JSON number")


class Input(BaseModel):
    """Base of every request body: unknown fields are rejected, text must be storable, and text is
    trimmed. The trimming comes after the documented limits are checked on the text as sent (a
    ``maxLength`` means what it says, padding included); text that is nothing but whitespace where
    some is required is 422."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        """Before pydantic's own validation: the value's JSON type is the documented one, and its
        text is storable."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            strict_scalar(field.annotation, value)
        return check_text_tree(value)

    @field_validator("*", mode="after")
    @classmethod
    def _trimmed(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or value == value.strip():
            return value
        trimmed = value.strip()
        field = cls.model_fields.get(info.field_name or "")
        if (
            not trimmed
            and field is not None
            and any(isinstance(m, MinLen) and m.min_length > 0 for m in field.metadata)
        ):
            raise PydanticCustomError("string_blank", "may not be blank")
        return trimmed


class Person(Input):
    """A person as the identity provider knows them; stored as ``<field>_subject`` etc. columns."""

    subject: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The person's identity: the `sub` of their token.", examples=["u100231"]
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["J. de Vries"])
    unit: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        description="Their unit (eenheid or dienst).", examples=["Eenheid Rotterdam"]
    )


class ResourceRead(BaseModel):
    """Fields every representation carries."""

    id: str = Field(description="Server-generated, opaque, time-sortable (UUIDv7).")
    href: str = Field(description="This resource's path through the gateway.")
    version: int = Field(description="Increases with every change; sent as the ETag.")
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class RefField:
    """A field of a collection that points at another resource."""

    target: str
    """Collection path of what it points at, e.g. ``/valuechains/v1/chains``."""
    column: str | None = None
    """Model attribute holding it (default: the field's name)."""
    local: bool = False
    """Stored as the id of a row in this service (a foreign key) instead of a full href."""
    holds: bool = True
    """A live row pointing through this field keeps its target in use: archiving the target is 409
    until the row is archived (or the archive is forced with a reason). False for records *about*
    a target (assessments, reviews, a period's allocation, a round's own items), which stay with it."""

    def column_name(self, field: str) -> str:
        return self.column or field
