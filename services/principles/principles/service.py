"""The rules of principles: only architects change them; codes are unique."""

from services.chassis.resources import Collection
from services.principles.principles.models import Principle
from services.principles.principles.schemas import PrincipleCreate, PrincipleQuery, PrincipleRead, PrincipleUpdate


class Principles(Collection[Principle]):
    write_roles = ("architect",)


principles = Principles(
    service="principles",
    name="principles",
    kind="principle",
    model=Principle,
    read=PrincipleRead,
    create=PrincipleCreate,
    update=PrincipleUpdate,
    unique=("code",),
    query=PrincipleQuery,
    description=(
        'The rules of the game ("spelregels"): follow them, or explain in advance why not '
        '("pas toe of leg uit"). Five categories, each principle optionally with a rule in CEL.'
    ),
)
