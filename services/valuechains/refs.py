"""The paths of this service's collections, and the typed references to them (``x-reference``)."""

from services.chassis.references import ref_type

CHAINS_PATH = "/valuechains/v1/chains"
ALLOCATIONS_PATH = "/valuechains/v1/allocations"
APPLICATIONS_PATH = "/valuechains/v1/applications"
INITIATIVES_PATH = "/portfolio/v1/initiatives"


class ChainRef(ref_type("ChainRef", CHAINS_PATH, "A value chain.")):  # type: ignore[misc]
    """A value chain (IV-waardeketen), by its href."""


class AllocationRef(ref_type("AllocationRef", ALLOCATIONS_PATH, "An allocation.")):  # type: ignore[misc]
    """A chain owner's allocation for a period, by its href."""


class ApplicationRef(ref_type("ApplicationRef", APPLICATIONS_PATH, "An application.")):  # type: ignore[misc]
    """An application of a value chain, by its href."""


class InitiativeRef(ref_type("InitiativeRef", INITIATIVES_PATH, "An initiative of the portfolio service.")):  # type: ignore[misc]
    """An initiative (the portfolio service's), by its href."""
