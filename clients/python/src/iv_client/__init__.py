"""The IV-platform's Python client: typed resources by href, safe retries, typed problems, and a
change-feed follower that resumes where it stopped. ``ivctl`` is its command line."""

from iv_client.auth import BearerToken, ClientCredentials, dev_token
from iv_client.client import Client, Page, RetryPolicy
from iv_client.errors import (
    ConflictError,
    ForbiddenError,
    InFlightError,
    IVConnectionError,
    IVError,
    NotFoundError,
    ProblemError,
    ServerError,
    StateConflictError,
    UnauthenticatedError,
    UnavailableError,
    UnprocessableError,
    VersionConflictError,
)
from iv_client.follower import Follower
from iv_client.models import Change, Ebo, EboRegistered, Ref, Resource

__all__ = [
    "BearerToken",
    "Change",
    "Client",
    "ClientCredentials",
    "ConflictError",
    "Ebo",
    "EboRegistered",
    "Follower",
    "ForbiddenError",
    "IVConnectionError",
    "IVError",
    "InFlightError",
    "NotFoundError",
    "Page",
    "ProblemError",
    "Ref",
    "Resource",
    "RetryPolicy",
    "ServerError",
    "StateConflictError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnprocessableError",
    "VersionConflictError",
    "dev_token",
]
