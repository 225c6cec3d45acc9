"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented chains, people, teams and figures.

Loaded only into an empty database (the chassis's ``seed`` checks). Ids are fixed so the other
services' demo data can point at these resources by href:

- chains   019a0000-0000-7000-8000-0000000000NN, NN 01..05 = OPS, INT, INS, NHM, BVO
- teams    019a0000-0001-7000-8000-000000000NNN, NNN 001..150 (per chain in the order above)
- allocations 019a0000-0002-7000-8000-0000000000NN: NN 01..05 the 2025 split of OPS..BVO,
  NN 06..10 the 2026 split of OPS..BVO

Allocations are set by each chain's own (demo) owner, some in more than one revision, so the
revision history and the change feed show who decided what.
"""

import dataclasses
import random
from decimal import Decimal
from typing import Any

from services.chassis.auth import Principal
from services.chassis.concurrency import etag
from services.chassis.uow import RequestContext
from services.valuechains.allocations.schemas import AllocationPut
from services.valuechains.allocations.service import allocations
from services.valuechains.chains.service import chains
from services.valuechains.teams.service import teams

CHAIN_ID = "019a0000-0000-7000-8000-{:012d}"
TEAM_ID = "019a0000-0001-7000-8000-{:012d}"
ALLOCATION_ID = "019a0000-0002-7000-8000-{:012d}"

DEMO_CHAINS: list[dict[str, Any]] = [
    {
        "id": CHAIN_ID.format(1),
        "code": "OPS",
        "name": "Opsporing",
        "domain": "Criminal investigation",
        "mission": "Equip investigation teams with reliable case, evidence and analysis systems.",
        "owner": {"subject": "demo-owner-ops", "name": "A. Jansen (demo)", "unit": "Eenheid Rotterdam"},
    },
    {
        "id": CHAIN_ID.format(2),
        "code": "INT",
        "name": "Intelligence",
        "domain": "Intelligence and information position",
        "mission": "Give every unit a current, lawful information position on people, places and threats.",
        "owner": {"subject": "demo-owner-int", "name": "B. de Boer (demo)", "unit": "Landelijke Eenheid"},
    },
    {
        "id": CHAIN_ID.format(3),
        "code": "INS",
        "name": "Intake en Service",
        "domain": "Intake, reporting and service to citizens",
        "mission": "Let citizens and businesses report and be helped online, by phone and at the desk.",
        "owner": {"subject": "demo-owner-ins", "name": "C. Visser (demo)", "unit": "Eenheid Oost-Nederland"},
    },
    {
        "id": CHAIN_ID.format(4),
        "code": "NHM",
        "name": "Noodhulp en Meldkamer",
        "domain": "Emergency response and control rooms",
        "mission": "Keep control rooms and emergency response connected and available, always.",
        "owner": {"subject": "demo-owner-nhm", "name": "D. Smit (demo)", "unit": "Landelijke Meldkamer Samenwerking"},
    },
    {
        "id": CHAIN_ID.format(5),
        "code": "BVO",
        "name": "Bedrijfsvoering",
        "domain": "Business operations (HR, finance, logistics)",
        "mission": "Run the force's own operations on simple, generic facilities.",
        "owner": {"subject": "demo-owner-bvo", "name": "E. Mulder (demo)", "unit": "Politiedienstencentrum"},
    },
]

# Per chain: how many teams, the external share the mix is drawn around, and what the teams work on.
# INT, NHM and BVO lean on external specialists (above the 30% threshold); OPS and INS less so.
DEMO_TEAMS: dict[str, tuple[int, float, list[str]]] = {
    "OPS": (
        40,
        0.22,
        [
            "Zaakdossier",
            "Digitaal Forensisch Onderzoek",
            "Tapverwerking",
            "Sporenregistratie",
            "Recherche-analyse",
            "Beslag en Goederen",
            "Financieel Rechercheren",
            "Verhoor en Registratie",
        ],
    ),
    "INT": (
        28,
        0.38,
        ["Informatieknooppunt", "Analyseplatform", "Bronnen en Koppelingen", "Dreigingsbeeld", "Zoeken en Vinden"],
    ),
    "INS": (
        30,
        0.18,
        ["Online Aangifte", "Contactcentrum", "Balie en Afspraken", "Meldingen Burgers", "Terugkoppeling"],
    ),
    "NHM": (
        27,
        0.35,
        ["Meldkamersysteem", "Portofonie", "Noodnummer 112", "Inzetplanning", "Mobiel Werken"],
    ),
    "BVO": (
        25,
        0.43,
        ["Personeelssystemen", "Financiën", "Logistiek en Middelen", "Roosters", "Werkplek"],
    ),
}
CALL_SIGNS = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot")
MATURITY_WEIGHTS = (10, 25, 35, 22, 8)

# (code, period, [(maintenance, security, renewal, budget_eur, rationale), ...revisions])
DEMO_ALLOCATIONS: list[tuple[str, str, list[tuple[int, int, int, int, str]]]] = [
    (
        "OPS",
        "2025",
        [(64, 12, 24, 52_400_000, "Stabilise the case-file system after the 2024 outages before renewing.")],
    ),
    (
        "INT",
        "2025",
        [(58, 17, 25, 31_800_000, "Security of source data comes first after the audit; renewal kept steady.")],
    ),
    (
        "INS",
        "2025",
        [
            (60, 10, 30, 22_500_000, "Online reporting grows: renewal share up, desk systems in beheer."),
            (56, 12, 32, 23_100_000, "Extra budget from the spring round goes to online aangifte and security."),
        ],
    ),
    (
        "NHM",
        "2025",
        [(70, 15, 15, 44_000_000, "Control-room continuity is non-negotiable: beheer and security dominate.")],
    ),
    (
        "BVO",
        "2025",
        [(66, 9, 25, 18_200_000, "Move HR and finance onto generic facilities; keep the rest running.")],
    ),
    (
        "OPS",
        "2026",
        [
            (
                62,
                13,
                25,
                55_000_000,
                "Case-file migration starts; beheer still high while old and new run side by side.",
            ),
            (58, 14, 28, 55_000_000, "Migration ahead of plan: shift 4 points from beheer to renewal of evidence."),
            (57, 15, 28, 56_200_000, "Security finding on tap processing: one more point for beveiliging."),
        ],
    ),
    (
        "INT",
        "2026",
        [
            (55, 18, 27, 33_000_000, "New analysis platform: renewal up, sources stay well secured."),
            (53, 18, 29, 34_500_000, "Q1 round added incidental money for the analysis platform."),
        ],
    ),
    (
        "INS",
        "2026",
        [(52, 12, 36, 24_000_000, "Renewal of the contact centre and self-service for businesses.")],
    ),
    (
        "NHM",
        "2026",
        [
            (68, 16, 16, 46_500_000, "Replacement of the control-room system is prepared, not yet started."),
            (65, 17, 18, 47_000_000, "Portofonie upgrade brought forward after the national exercise."),
        ],
    ),
    (
        "BVO",
        "2026",
        [(60, 10, 30, 19_000_000, "Second wave of generic facilities: rosters and logistics.")],
    ),
]


def demo_teams() -> list[dict[str, Any]]:
    """About 150 teams with a realistic internal/external mix; the same every time."""
    rng = random.Random(2026)
    rows = []
    counter = 0
    for chain in DEMO_CHAINS:
        count, external_share, themes = DEMO_TEAMS[chain["code"]]
        for i in range(count):
            counter += 1
            theme = themes[i % len(themes)]
            size = Decimal(rng.randint(10, 22)) / 2  # 5.0 .. 11.0 FTE in half steps
            share = min(max(rng.gauss(external_share, 0.12), 0.0), 0.8)
            external = (size * Decimal(str(round(share, 2))) * 2).quantize(Decimal(1)) / 2
            rows.append(
                {
                    "id": TEAM_ID.format(counter),
                    "chain_id": chain["id"],
                    "name": f"{theme} {CALL_SIGNS[i // len(themes)]}",
                    "fte_internal": size - external,
                    "fte_external": external,
                    "maturity": rng.choices(range(1, 6), weights=MATURITY_WEIGHTS)[0],
                }
            )
    return rows


async def load(ctx: RequestContext) -> None:
    for chain in DEMO_CHAINS:
        await chains.insert(ctx, chains.to_columns(chain))
    for team in demo_teams():
        await teams.insert(ctx, teams.to_columns(team))
    by_code = {c["code"]: c for c in DEMO_CHAINS}
    for number, (code, period, revisions) in enumerate(DEMO_ALLOCATIONS, start=1):
        chain = by_code[code]
        owner = chain["owner"]
        as_owner = dataclasses.replace(
            ctx, principal=Principal(sub=owner["subject"], roles=frozenset({"chain_owner"}), name=owner["name"])
        )
        version: int | None = None
        for maintenance, security, renewal, budget_eur, rationale in revisions:
            body = AllocationPut(
                maintenance=maintenance,
                security=security,
                renewal=renewal,
                budget_eur=budget_eur,
                rationale=rationale,
            )
            allocation, _ = await allocations.set(
                as_owner,
                chain["id"],
                period,
                body,
                if_match=etag(version) if version is not None else None,
                if_none_match=None,
                id_=ALLOCATION_ID.format(number),
            )
            version = allocation.version
