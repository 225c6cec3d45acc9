"""The paths of the collections this service keeps or points at, and the typed references to them
(``x-reference``)."""

from services.chassis.references import ref_type

CHAINS_PATH = "/valuechains/v1/chains"
ALLOCATIONS_PATH = "/valuechains/v1/allocations"
APPLICATIONS_PATH = "/valuechains/v1/applications"
PROGRAMMES_PATH = "/portfolio/v1/programmes"
INITIATIVES_PATH = "/portfolio/v1/initiatives"
ROUNDS_PATH = "/portfolio/v1/rounds"
EBOS_PATH = "/portfolio/v1/ebos"
APPLICATIONS_PATH = "/valuechains/v1/applications"


VALUE_CHAIN = "A value chain (IV-waardeketen) of the valuechains service."


class ValueChainRef(ref_type("ValueChainRef", CHAINS_PATH, VALUE_CHAIN)):  # type: ignore[misc]
    """A value chain ("IV-waardeketen"), owned by the valuechains service."""


class AllocationRef(ref_type("AllocationRef", ALLOCATIONS_PATH, "An allocation of the valuechains service.")):  # type: ignore[misc]
    """A chain owner's allocation for a period (the valuechains service's), by its href."""


class ApplicationRef(ref_type("ApplicationRef", APPLICATIONS_PATH, "An application of the valuechains service.")):  # type: ignore[misc]
    """An application a value chain keeps running (the valuechains service's), by its href."""


class ProgrammeRef(ref_type("ProgrammeRef", PROGRAMMES_PATH, "A programme of this service.")):  # type: ignore[misc]
    """A programme of this service."""


class InitiativeRef(ref_type("InitiativeRef", INITIATIVES_PATH, "An initiative of this service.")):  # type: ignore[misc]
    """An initiative of this service."""


class RoundRef(ref_type("RoundRef", ROUNDS_PATH, "A rolling-portfolio round of this service.")):  # type: ignore[misc]
    """A rolling-portfolio round of this service."""


class EboRef(ref_type("EboRef", EBOS_PATH, "An EBO of this service.")):  # type: ignore[misc]
    """An EBO (Eigen Beheerde Omgeving) of this service."""
