"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented chains, people, teams, applications and figures.

Loaded only into an empty database (the chassis's ``seed`` checks). Ids are fixed so the other
services' demo data can point at these resources by href:

- chains   019a0000-0000-7000-8000-0000000000NN, NN 01..05 = OPS, INT, INS, NHM, BVO
- teams    019a0000-0001-7000-8000-000000000NNN, NNN 001..150 (per chain in the order above)
- allocations 019a0000-0002-7000-8000-0000000000NN: NN 01..05 the 2025 split of OPS..BVO,
  NN 06..10 the 2026 split of OPS..BVO
- applications 019a0000-0003-7000-8000-0000000000NN, NN 01..40 (per chain in the order above)

The applications tell the foundation story ("een goed fundament"): some past end of support, some
within six months of it, some long without a release. Their dates are relative to the day the demo
is loaded, so the story holds whenever that is. Open critical findings exist only in OPS and NHM
(the principles service's demo rule "Continuïteit en security vóór doorontwikkeling en innovatie"
relies on that); INT, INS and BVO have none. All of OPS's critical findings sit on ONE application,
019a0000-0003-7000-8000-000000000002 ("Digitaal Sporenregister", internal): closing its findings
(``PATCH {"findings": {"critical": 0}}``) leaves OPS with no open critical finding. NHM has two
applications marked `eliminate` that still carry critical findings.

Allocations are set by each chain's own (demo) owner, some in more than one revision, so the
revision history and the change feed show who decided what.
"""

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

from services.chassis.auth import Principal
from services.chassis.concurrency import etag
from services.chassis.db import utcnow
from services.chassis.uow import RequestContext
from services.valuechains.allocations.schemas import AllocationPut
from services.valuechains.allocations.service import allocations
from services.valuechains.applications.figures import add_months
from services.valuechains.applications.service import applications
from services.valuechains.chains.service import chains
from services.valuechains.teams.service import teams

CHAIN_ID = "019a0000-0000-7000-8000-{:012d}"
TEAM_ID = "019a0000-0001-7000-8000-{:012d}"
ALLOCATION_ID = "019a0000-0002-7000-8000-{:012d}"
APPLICATION_ID = "019a0000-0003-7000-8000-{:012d}"

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


OPS_CRITICAL_APPLICATION = APPLICATION_ID.format(2)
"""The one OPS application carrying all of OPS's open critical findings."""

REG, INTEL, BUSINESS, INFRA = "registration", "intelligence", "business_operations", "infrastructure"
TOLERATE, INVEST, MIGRATE, ELIMINATE = "tolerate", "invest", "migrate", "eliminate"
OWN, CLOUD, HYBRID = "own_platform", "public_cloud", "hybrid"
PUBLIC, INTERNAL, CONFIDENTIAL, SECRET = "public", "internal", "confidential", "secret"

# (chain, name, category, disposition, support ends (months from the load date), last release (months
# from the load date), findings (critical, high, medium, low), hosting, data classification).
# Support months: < 0 past support, 1..5 within six months of it, >= 8 comfortably supported.
# Release months: > -12 recent, <= -13 no release in the last twelve months.
DEMO_APPLICATIONS: list[tuple[str, str, str, str, int, int, tuple[int, int, int, int], str, str]] = [
    # OPS: criminal investigation. Critical findings only on Digitaal Sporenregister (NN 02).
    ("OPS", "Zaakregistratie Opsporing", REG, INVEST, 36, -1, (0, 2, 6, 14), OWN, CONFIDENTIAL),
    ("OPS", "Digitaal Sporenregister", REG, MIGRATE, 4, -16, (3, 4, 7, 9), OWN, INTERNAL),
    ("OPS", "Tapverwerking", INTEL, TOLERATE, -8, -20, (0, 3, 2, 5), OWN, SECRET),
    ("OPS", "Forensisch Onderzoeksplatform", INTEL, INVEST, 30, -2, (0, 1, 4, 8), HYBRID, CONFIDENTIAL),
    ("OPS", "Beslag- en Goederenregistratie", REG, TOLERATE, 14, -9, (0, 0, 3, 6), OWN, INTERNAL),
    ("OPS", "Financieel Rechercheplatform", INTEL, INVEST, 24, -3, (0, 1, 2, 3), OWN, CONFIDENTIAL),
    ("OPS", "Verhoorregistratie", REG, TOLERATE, 10, -15, (0, 2, 1, 4), OWN, INTERNAL),
    ("OPS", "Recherche-analysetool (oud)", INTEL, ELIMINATE, -3, -30, (0, 2, 5, 7), OWN, CONFIDENTIAL),
    ("OPS", "Opsporingswerkplek", INFRA, INVEST, 20, -1, (0, 0, 2, 10), HYBRID, INTERNAL),
    # INT: intelligence. No critical findings.
    ("INT", "Informatieknooppunt Portaal", INTEL, INVEST, 40, -1, (0, 1, 3, 6), OWN, SECRET),
    ("INT", "Analyseplatform", INTEL, INVEST, 48, -2, (0, 2, 4, 5), HYBRID, CONFIDENTIAL),
    ("INT", "Bronnenregister", INTEL, TOLERATE, 3, -18, (0, 3, 2, 2), OWN, SECRET),
    ("INT", "Dreigingsbeeld Dashboard", INTEL, INVEST, 28, -1, (0, 0, 1, 4), CLOUD, INTERNAL),
    ("INT", "Centrale Zoekvoorziening", INTEL, MIGRATE, 5, -7, (0, 1, 3, 9), OWN, CONFIDENTIAL),
    ("INT", "Koppelvlak Internationale Uitwisseling", INFRA, TOLERATE, -2, -22, (0, 4, 3, 1), OWN, SECRET),
    ("INT", "Registratie Persoonsgerichte Aanpak", REG, TOLERATE, 15, -11, (0, 0, 2, 3), OWN, CONFIDENTIAL),
    ("INT", "Open-bronnenonderzoek Toolkit", INTEL, ELIMINATE, 2, -26, (0, 1, 1, 0), CLOUD, INTERNAL),
    # INS: intake and service. No critical findings.
    ("INS", "Online Aangifte", REG, INVEST, 36, -1, (0, 1, 3, 12), HYBRID, INTERNAL),
    ("INS", "Contactcentrum Telefonie", INFRA, MIGRATE, 4, -14, (0, 2, 4, 6), CLOUD, INTERNAL),
    ("INS", "Balie-afsprakenplanner", BUSINESS, TOLERATE, 18, -5, (0, 0, 1, 2), CLOUD, PUBLIC),
    ("INS", "Meldingenregistratie Burgers", REG, INVEST, 26, -2, (0, 1, 2, 5), OWN, CONFIDENTIAL),
    ("INS", "Publiekswebsite en Webformulieren", INFRA, INVEST, 30, -1, (0, 0, 4, 9), CLOUD, PUBLIC),
    ("INS", "Terugkoppeling Aangevers", REG, INVEST, 22, -4, (0, 0, 2, 3), HYBRID, INTERNAL),
    ("INS", "Aangifte-intake Balie (oud)", REG, ELIMINATE, -6, -28, (0, 3, 5, 4), OWN, INTERNAL),
    ("INS", "Tolkenplanning", BUSINESS, TOLERATE, 9, -16, (0, 1, 1, 2), CLOUD, INTERNAL),
    # NHM: emergency response and control rooms. Critical findings, two on applications to eliminate.
    ("NHM", "Meldkamersysteem", REG, INVEST, 12, -2, (0, 3, 4, 8), OWN, CONFIDENTIAL),
    ("NHM", "Meldkamerkoppeling (oud)", INFRA, ELIMINATE, -10, -34, (2, 3, 2, 1), OWN, CONFIDENTIAL),
    ("NHM", "Portofonie Beheerconsole", INFRA, MIGRATE, 3, -19, (1, 2, 3, 3), OWN, SECRET),
    ("NHM", "Noodnummerrouting", INFRA, INVEST, 24, -1, (0, 1, 2, 4), OWN, CONFIDENTIAL),
    ("NHM", "Inzetplanning Noodhulp", BUSINESS, TOLERATE, 8, -6, (0, 0, 2, 5), HYBRID, INTERNAL),
    ("NHM", "Noodhulp-app Mobiel Werken", REG, INVEST, 30, -1, (0, 1, 3, 7), HYBRID, INTERNAL),
    ("NHM", "Voertuiglocatiesysteem (oud)", INFRA, ELIMINATE, -4, -25, (1, 1, 0, 2), OWN, INTERNAL),
    ("NHM", "Kaart- en Navigatieservice", INFRA, TOLERATE, 5, -15, (0, 2, 1, 1), CLOUD, INTERNAL),
    # BVO: business operations. No critical findings.
    ("BVO", "Personeelsinformatiesysteem", BUSINESS, MIGRATE, 2, -17, (0, 2, 3, 4), HYBRID, CONFIDENTIAL),
    ("BVO", "Financiële Administratie", BUSINESS, TOLERATE, -5, -21, (0, 2, 2, 3), OWN, INTERNAL),
    ("BVO", "Logistiek en Middelenbeheer", BUSINESS, INVEST, 26, -2, (0, 0, 2, 6), CLOUD, INTERNAL),
    ("BVO", "Roosterplanning", BUSINESS, INVEST, 34, -1, (0, 0, 1, 3), CLOUD, INTERNAL),
    ("BVO", "Werkplekbeheer", INFRA, INVEST, 18, -1, (0, 1, 5, 12), HYBRID, INTERNAL),
    ("BVO", "Identiteits- en Toegangsbeheer", INFRA, INVEST, 40, -2, (0, 2, 1, 2), OWN, CONFIDENTIAL),
    ("BVO", "Declaratiesysteem (oud)", BUSINESS, ELIMINATE, -14, -40, (0, 1, 0, 1), OWN, INTERNAL),
]


def demo_applications(today: dt.date) -> list[dict[str, Any]]:
    """About 40 applications, dated relative to ``today`` so that the foundation story always holds."""
    chain_ids = {c["code"]: c["id"] for c in DEMO_CHAINS}
    return [
        {
            "id": APPLICATION_ID.format(number),
            "chain_id": chain_ids[code],
            "name": name,
            "category": category,
            "disposition": disposition,
            "supported_until": add_months(today, support),
            "last_release": add_months(today, release),
            "findings": dict(zip(("critical", "high", "medium", "low"), findings, strict=True)),
            "hosting": hosting,
            "data_classification": classification,
        }
        for number, (
            code,
            name,
            category,
            disposition,
            support,
            release,
            findings,
            hosting,
            classification,
        ) in enumerate(DEMO_APPLICATIONS, start=1)
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
    for application in demo_applications(utcnow().date()):
        await applications.insert(ctx, applications.to_columns(application))
