"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented programmes, initiatives, EBOs, people and figures.

Ids are fixed so other services' demo data can point here (programmes 019a0001-0000-..., initiatives
019a0001-0001-..., EBOs 019a0001-0002-..., rounds 019a0001-0003-...). Value chains are the
valuechains service's demo chains, referenced by href and not checked while seeding. The principles
service's demo relies on initiatives 07 (active renewal, OPS, public cloud, confidential), 08
(approved renewal, INT, public cloud, confidential) and 09 (proposed renewal, INS, hybrid, secret);
every other initiative runs on its own platform or keeps only public data in the cloud.

Four rounds of the rolling portfolio: three closed and one open, each started from the previous one,
moving run:renewal from about 66:34 toward the target 60:40.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from services.chassis.uow import RequestContext
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.service import initiatives
from services.portfolio.programmes.service import programmes
from services.portfolio.rounds.items import round_items
from services.portfolio.rounds.models import Round, RoundItem
from services.portfolio.rounds.service import rounds


def chain(n: int) -> str:
    return f"/valuechains/v1/chains/019a0000-0000-7000-8000-{n:012d}"


def programme_id(n: int) -> str:
    return f"019a0001-0000-7000-8000-{n:012d}"


def initiative_id(n: int) -> str:
    return f"019a0001-0001-7000-8000-{n:012d}"


def ebo_id(n: int) -> str:
    return f"019a0001-0002-7000-8000-{n:012d}"


def round_id(n: int) -> str:
    return f"019a0001-0003-7000-8000-{n:012d}"


OPS, INT, INS, NHM, BVO = 1, 2, 3, 4, 5
VR, MIB, NB, LMS, DO = 1, 2, 3, 4, 5

DEMO_PROGRAMMES = [
    {
        "id": programme_id(VR),
        "code": "VR",
        "name": "Vernieuwend Registreren",
        "ambition": "Register once, at the source, so every colleague can use it: fewer forms, better data.",
        "owner": {"subject": "demo-pm-vr", "name": "F. Bos (demo)", "unit": "Dienst IV"},
        "status": "active",
    },
    {
        "id": programme_id(MIB),
        "code": "MIB",
        "name": "Modernisering Informatievoorziening Bedrijfsvoering",
        "ambition": "Move business operations onto simple, generic facilities.",
        "owner": {"subject": "demo-pm-mib", "name": "G. Hendriks (demo)", "unit": "Politiedienstencentrum"},
        "status": "active",
    },
    {
        "id": programme_id(NB),
        "code": "NB",
        "name": "IV Next Base",
        "ambition": "A modern technical foundation: platforms, data and security that renewal can build on.",
        "owner": {"subject": "demo-pm-nb", "name": "H. Willems (demo)", "unit": "Dienst IM en ICT"},
        "status": "active",
    },
    {
        "id": programme_id(LMS),
        "code": "LMS",
        "name": "Landelijke Meldkamer Samenwerking",
        "ambition": "One way of working for every control room, on shared and always available systems.",
        "owner": {"subject": "demo-pm-lms", "name": "I. Peters (demo)", "unit": "Landelijke Meldkamer Samenwerking"},
        "status": "active",
    },
    {
        "id": programme_id(DO),
        "code": "DO",
        "name": "Digitaal Opsporen",
        "ambition": "Investigators handle digital traces and images as easily as paper ones.",
        "owner": {"subject": "demo-pm-do", "name": "K. Dekker (demo)", "unit": "Landelijke Eenheid"},
        "status": "active",
    },
]

REN, MNT, SEC = "renewal", "maintenance", "security"
STRUCT, INCID = "structural", "incidental"
OWN, CLOUD, HYBRID = "own_platform", "public_cloud", "hybrid"
PUBLIC, INTERNAL, CONFIDENTIAL, SECRET = "public", "internal", "confidential", "secret"

# number, chain, programme, kind, funding, budget, start, end, status, hosting, classification, generic
INITIATIVE_FACTS: list[tuple[int, int, int | None, str, str, int, str, str, str, str, str, bool]] = [
    # renewal (vernieuwing)
    (1, OPS, VR, REN, STRUCT, 3_400_000, "2025-09-01", "2027-06-30", "active", OWN, CONFIDENTIAL, True),
    (2, OPS, VR, REN, INCID, 1_200_000, "2025-10-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (3, OPS, DO, REN, STRUCT, 2_100_000, "2026-01-15", "2027-03-31", "active", OWN, CONFIDENTIAL, True),
    (4, NHM, LMS, REN, INCID, 1_800_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (5, NHM, LMS, REN, STRUCT, 2_600_000, "2026-01-01", "2027-06-30", "active", OWN, CONFIDENTIAL, True),
    (6, NHM, LMS, REN, STRUCT, 1_500_000, "2026-01-01", "2027-04-30", "active", OWN, INTERNAL, True),
    (7, OPS, DO, REN, STRUCT, 2_300_000, "2026-01-15", "2027-06-30", "active", CLOUD, CONFIDENTIAL, False),
    (8, INT, NB, REN, INCID, 1_900_000, "2026-10-01", "2027-09-30", "approved", CLOUD, CONFIDENTIAL, True),
    (9, INS, VR, REN, INCID, 900_000, "2027-01-01", "2027-12-31", "proposed", HYBRID, SECRET, True),
    (30, INS, VR, REN, STRUCT, 1_250_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (31, INS, VR, REN, STRUCT, 800_000, "2025-09-01", "2026-06-30", "delivered", CLOUD, PUBLIC, True),
    (32, INT, NB, REN, STRUCT, 1_700_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (33, INT, NB, REN, INCID, 2_400_000, "2025-09-01", "2027-06-30", "active", OWN, SECRET, True),
    (34, BVO, MIB, REN, STRUCT, 1_100_000, "2025-09-01", "2026-09-30", "active", OWN, INTERNAL, True),
    (35, BVO, MIB, REN, STRUCT, 650_000, "2025-09-01", "2026-03-31", "delivered", OWN, INTERNAL, True),
    (36, BVO, MIB, REN, STRUCT, 1_300_000, "2026-01-01", "2027-03-31", "active", OWN, INTERNAL, True),
    (37, BVO, MIB, REN, INCID, 400_000, "2026-05-01", "2026-12-31", "active", CLOUD, PUBLIC, True),
    (38, OPS, DO, REN, STRUCT, 2_800_000, "2026-09-01", "2027-12-31", "approved", OWN, SECRET, True),
    (39, NHM, LMS, REN, STRUCT, 1_400_000, "2026-01-01", "2027-03-31", "active", OWN, CONFIDENTIAL, True),
    (40, INS, None, REN, INCID, 700_000, "2027-01-01", "2027-09-30", "proposed", OWN, CONFIDENTIAL, True),
    (41, OPS, DO, REN, STRUCT, 1_600_000, "2026-05-01", "2027-04-30", "active", OWN, CONFIDENTIAL, True),
    (42, INT, NB, REN, INCID, 1_000_000, "2025-09-01", "2026-12-31", "stopped", OWN, SECRET, True),
    # run (beheer): maintenance and security
    (10, OPS, None, MNT, STRUCT, 4_500_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (11, OPS, None, MNT, STRUCT, 1_400_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (12, OPS, None, SEC, STRUCT, 1_100_000, "2025-09-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (13, INT, None, MNT, STRUCT, 3_600_000, "2026-01-01", "2026-12-31", "active", OWN, SECRET, True),
    (14, INT, NB, MNT, STRUCT, 1_800_000, "2025-09-01", "2026-09-30", "active", OWN, CONFIDENTIAL, False),
    (15, INT, None, SEC, STRUCT, 1_300_000, "2025-09-01", "2026-12-31", "active", OWN, SECRET, True),
    (16, INS, None, MNT, STRUCT, 1_500_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (17, INS, None, MNT, STRUCT, 2_200_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (18, INS, None, SEC, STRUCT, 600_000, "2025-09-01", "2026-12-31", "active", CLOUD, PUBLIC, True),
    (19, NHM, LMS, MNT, STRUCT, 4_800_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (20, NHM, LMS, MNT, STRUCT, 2_900_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (21, NHM, None, SEC, STRUCT, 700_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (22, BVO, MIB, MNT, STRUCT, 2_000_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (23, BVO, MIB, MNT, STRUCT, 1_600_000, "2025-09-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (24, BVO, NB, SEC, STRUCT, 2_400_000, "2025-09-01", "2027-03-31", "active", OWN, INTERNAL, True),
    (25, OPS, None, MNT, INCID, 2_700_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (26, INT, None, MNT, STRUCT, 3_100_000, "2026-01-01", "2026-12-31", "active", OWN, SECRET, True),
    (27, NHM, LMS, MNT, INCID, 1_900_000, "2025-09-01", "2026-09-30", "active", OWN, INTERNAL, False),
    (28, INS, None, MNT, STRUCT, 500_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (29, BVO, MIB, MNT, STRUCT, 900_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (43, OPS, None, SEC, STRUCT, 300_000, "2025-09-01", "2026-03-31", "delivered", OWN, INTERNAL, True),
    (44, INT, NB, SEC, STRUCT, 1_200_000, "2025-09-01", "2026-12-31", "active", OWN, SECRET, False),
    (45, INS, None, MNT, STRUCT, 350_000, "2026-01-01", "2026-09-30", "active", CLOUD, PUBLIC, True),
    (46, NHM, LMS, MNT, STRUCT, 2_300_000, "2025-09-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (47, BVO, MIB, MNT, STRUCT, 700_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (48, OPS, None, MNT, STRUCT, 1_700_000, "2025-09-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (49, INT, None, SEC, STRUCT, 900_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (50, INS, VR, MNT, STRUCT, 450_000, "2026-01-01", "2026-12-31", "active", CLOUD, PUBLIC, True),
    (51, NHM, LMS, SEC, STRUCT, 800_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (52, BVO, MIB, MNT, INCID, 600_000, "2025-09-01", "2026-06-30", "stopped", OWN, INTERNAL, False),
    (53, OPS, None, MNT, STRUCT, 1_000_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (54, INT, None, MNT, STRUCT, 1_400_000, "2026-01-01", "2026-12-31", "active", OWN, SECRET, True),
    (55, INS, None, MNT, STRUCT, 400_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
    (56, NHM, None, SEC, STRUCT, 500_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (57, BVO, MIB, MNT, STRUCT, 1_300_000, "2026-01-01", "2026-12-31", "active", OWN, CONFIDENTIAL, True),
    (58, OPS, None, MNT, STRUCT, 1_200_000, "2026-09-01", "2027-06-30", "approved", OWN, INTERNAL, True),
    (59, INT, None, MNT, INCID, 1_500_000, "2027-01-01", "2027-06-30", "proposed", OWN, CONFIDENTIAL, True),
    (60, BVO, MIB, MNT, STRUCT, 550_000, "2026-01-01", "2026-12-31", "active", OWN, INTERNAL, True),
]

INITIATIVE_TEXTS: dict[int, tuple[str, str]] = {
    1: (
        "Digitaal opsporingsdossier",
        "One digital case file for investigation teams: documents, evidence and decisions, shared with the prosecutor.",
    ),
    2: (
        "Spraak-naar-tekst bij verhoren",
        "Transcribes recorded interviews automatically so investigators review instead of type.",
    ),
    3: (
        "Digitale sporenregistratie op de plaats delict",
        "Records traces at the crime scene on a tablet, straight into the case file.",
    ),
    4: (
        "Spraakherkenning 112-meldingen",
        "Transcribes and classifies emergency calls live, so the dispatcher sees key facts at once.",
    ),
    5: (
        "Live video bij meldingen",
        "Callers can share live video with the control room; dispatchers see the scene before units arrive.",
    ),
    6: (
        "Landelijk inzetoverzicht noodhulp",
        "One national view of available emergency-response units for every control room.",
    ),
    7: (
        "Cameradata-analyse in de cloud",
        "Analyses large volumes of seized camera footage with cloud computing power.",
    ),
    8: (
        "Open-bronnenanalyse op cloudplatform",
        "Collects and analyses open-source intelligence on a commercial cloud platform.",
    ),
    9: (
        "Slimme intake met chatassistent",
        "A chat assistant helps citizens report sensitive crimes online and routes the report to the right team.",
    ),
    30: (
        "Digitale aangifte met foto en video",
        "Citizens add photos and video to an online crime report; investigators see them in the case file.",
    ),
    31: (
        "Politie-app: nieuws en buurtinformatie",
        "News, wanted notices and neighbourhood information in the public police app.",
    ),
    32: (
        "Informatiepositie op de kaart",
        "Shows the current information position of an area on a map for briefings and operations.",
    ),
    33: (
        "Federatief zoeken in bronsystemen",
        "One search across the source systems without copying their data into a new store.",
    ),
    34: ("Zelfservice HR-portaal", "Employees arrange leave, expenses and changes themselves in one portal."),
    35: ("Digitaal bestellen van uitrusting", "Officers order uniforms and equipment online instead of by form."),
    36: (
        "Roosterplanning op generieke voorziening",
        "Moves the units' many rostering tools onto one generic rostering facility.",
    ),
    37: (
        "Open-dataportaal politiecijfers",
        "Publishes crime figures as open data for municipalities, media and researchers.",
    ),
    38: (
        "Digitaal forensisch onderzoek versnellen",
        "Shortens the time from seized phone to usable evidence with automated extraction.",
    ),
    39: (
        "Mobiele noodhulp-app voor agenten",
        "Emergency-response officers receive and update incidents on their phone.",
    ),
    40: (
        "Aangifte online met foto's en video",
        "Citizens add photos and videos to their online crime report, so investigators see them in the case file.",
    ),
    41: ("Kentekenherkenning in camerabeelden", "Finds licence plates in seized camera footage automatically."),
    42: (
        "Ondersteuning risicotaxatie",
        "Supports analysts in assessing threats against persons with a structured method.",
    ),
    10: (
        "Beheer opsporingsketen 2026",
        "Keeps the investigation chain's applications current: releases, fixes and capacity.",
    ),
    11: ("Upgrade forensisch laboratoriumsysteem", "Moves the forensic laboratory system to a supported version."),
    12: (
        "Patchen en harden opsporingsapplicaties",
        "Closes known vulnerabilities in investigation applications and hardens their configuration.",
    ),
    13: ("Beheer intelligence-applicaties", "Keeps the intelligence applications current and available."),
    14: ("Vervanging analyseservers", "Replaces end-of-life analysis servers of the intelligence chain."),
    15: (
        "Securitymonitoring intelligence-omgeving",
        "Around-the-clock detection of attacks on the intelligence environment.",
    ),
    16: ("Onderhoud internetaangifte", "Keeps online reporting available and its forms current with the law."),
    17: ("Beheer telefonie klantcontactcentrum", "Keeps the 0900 contact centre's telephony running."),
    18: ("DDoS-bescherming politie.nl", "Protects the public website against overload attacks."),
    19: ("Onderhoud meldkamersysteem", "Keeps the control rooms' dispatch system current and available, always."),
    20: ("Redundantie C2000-koppelingen", "Doubles the links between control rooms and the C2000 radio network."),
    21: ("Pentesten meldkamerketen", "Yearly penetration tests of the control-room chain, and the fixes."),
    22: ("Beheer HR-systeem", "Keeps the HR system current and connected to payroll."),
    23: ("Upgrade financieel systeem", "Moves the financial system to the supplier's supported release."),
    24: (
        "Identiteits- en toegangsbeheer",
        "Renews identity and access management: who may use which application, checked centrally.",
    ),
    25: (
        "Migratie opslag digitale sporen",
        "Moves stored digital evidence to new storage before the old one goes out of support.",
    ),
    26: ("Beheer tapkamer-infrastructuur", "Keeps the lawful-interception infrastructure current and available."),
    27: ("Vervanging werkplekken meldkamers", "Replaces the control rooms' dispatcher workstations."),
    28: ("Onderhoud afsprakensysteem baliebezoek", "Keeps the appointment system for desk visits current."),
    29: ("Beheer logistiek systeem", "Keeps the logistics system for equipment and vehicles current."),
    43: ("Security awareness rechercheteams", "Training and phishing exercises for investigation teams."),
    44: ("Versleuteling gegevensuitwisseling partners", "Encrypts data exchanged with partners end to end."),
    45: ("Toegankelijkheid website verbeteren", "Makes politie.nl meet the accessibility standard."),
    46: ("Noodstroom en netwerk meldkamers", "Renews emergency power and network equipment of the control rooms."),
    47: ("Beheer inkoopsysteem", "Keeps the procurement system current."),
    48: ("Levenscyclus mobiele telefoons recherche", "Replaces and manages the investigators' mobile phones."),
    49: (
        "Kwetsbaarhedenbeheer",
        "Finds and tracks vulnerabilities across the intelligence chain until they are fixed.",
    ),
    50: ("Beheer publieke politie-app", "Keeps the public police app current in the app stores."),
    51: ("Back-up meldkamergegevens", "Tested back-ups of control-room data in a second location."),
    52: ("Vervanging printers en scanners", "Replaces the printers and scanners in police stations."),
    53: ("Archivering afgesloten zaken", "Archives closed cases according to the retention rules."),
    54: (
        "Onderhoud koppeling Schengen-informatiesysteem",
        "Keeps the link with the Schengen Information System current with EU changes.",
    ),
    55: (
        "Beheer bereikbaarheid wijkagenten",
        "Keeps the contact details and availability of community officers current.",
    ),
    56: (
        "Certificaatbeheer meldkamerketen",
        "Renews and monitors certificates in the control-room chain before they expire.",
    ),
    57: ("Beheer salarisadministratie", "Keeps the payroll system current with tax and collective-agreement changes."),
    58: (
        "Opruimen verouderde opsporingsapplicaties",
        "Retires old investigation applications whose function has moved to the case file.",
    ),
    59: ("Uitbreiding opslag analyse", "Adds storage capacity for the analysts' growing data sets."),
    60: ("Beheer wagenparksysteem", "Keeps the fleet management system current."),
}


# The first round's list: (initiative, rank, decision, note). Budgets default to the initiative's.
ROUND_1: list[tuple[int, int, str, str]] = [
    (19, 10, "continue", "Control rooms first: availability is not negotiable."),
    (20, 20, "continue", ""),
    (10, 30, "continue", ""),
    (13, 40, "continue", ""),
    (26, 50, "continue", ""),
    (15, 60, "continue", ""),
    (12, 70, "continue", ""),
    (24, 80, "start", "Needed before any cloud use."),
    (1, 90, "continue", "Core of Vernieuwend Registreren."),
    (4, 100, "start", "Pilot in two control rooms."),
    (30, 110, "start", ""),
    (33, 120, "continue", ""),
    (25, 130, "continue", "Old storage goes out of support in 2026."),
    (17, 140, "continue", ""),
    (16, 150, "continue", ""),
    (22, 160, "continue", ""),
    (11, 170, "continue", ""),
    (14, 180, "continue", ""),
    (46, 190, "defer", "Postponed: risk accepted by the chain owner for one round."),
    (2, 200, "start", "Incidental money from the innovation budget."),
    (32, 210, "continue", ""),
    (23, 220, "continue", ""),
    (27, 230, "continue", ""),
    (48, 240, "continue", ""),
    (44, 250, "continue", ""),
    (34, 260, "start", ""),
    (31, 270, "continue", ""),
    (35, 280, "continue", ""),
    (42, 290, "start", ""),
    (18, 300, "continue", ""),
    (52, 310, "continue", ""),
    (43, 320, "continue", ""),
    (29, 330, "continue", ""),
    (47, 340, "continue", ""),
    (57, 350, "continue", ""),
    (53, 360, "defer", "No capacity this round."),
    (28, 370, "continue", ""),
    (60, 380, "continue", ""),
    (55, 390, "continue", ""),
    (5, 95, "start", "Renewal priority of the chain owner NHM."),
    (3, 115, "start", ""),
    (39, 205, "start", ""),
    (36, 265, "start", "Replaces six local rostering tools."),
    (6, 105, "start", "National view asked for by all chiefs of control rooms."),
]

# Each later round starts from the previous one (its items copied, stopped ones left out), then:
# (initiative, changes to its item) and (initiative, rank, decision, note) additions.
ROUND_CHANGES: dict[int, tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, int, str, str]]]] = {
    2: (
        [
            (24, {"decision": "continue", "note": ""}),
            (4, {"decision": "continue", "note": "Pilot promising: extend to all control rooms."}),
            (30, {"decision": "continue", "note": ""}),
            (2, {"decision": "continue", "note": ""}),
            (34, {"decision": "continue", "note": ""}),
            (42, {"decision": "continue", "note": ""}),
            (5, {"decision": "continue", "note": ""}),
            (3, {"decision": "continue", "note": ""}),
            (39, {"decision": "continue", "note": ""}),
            (36, {"decision": "continue", "note": ""}),
            (6, {"decision": "continue", "note": ""}),
            (35, {"decision": "stop", "note": "Delivered; moves to regular maintenance."}),
            (43, {"decision": "stop", "note": "Delivered."}),
            (53, {"decision": "continue", "note": "Capacity found."}),
            (25, {"budget_eur": 2_200_000, "decision": "adjust", "note": "Half the data could be deleted first."}),
            (10, {"rank": 35, "note": "Moved down: releases can wait for the case file."}),
        ],
        [
            (7, 125, "start", "Cloud capacity for footage analysis; explanation for principle RI-02 requested."),
        ],
    ),
    3: (
        [
            (7, {"decision": "continue", "note": ""}),
            (31, {"decision": "stop", "note": "Delivered in June."}),
            (42, {"decision": "stop", "note": "Method not accepted by the units; stopped to free analysts."}),
            (52, {"decision": "stop", "note": "Taken over by the national printing contract."}),
            (
                27,
                {
                    "budget_eur": 1_500_000,
                    "decision": "adjust",
                    "note": "Fewer workstations needed after merging rooms.",
                },
            ),
            (1, {"rank": 15, "note": "Moved up: prosecutors need it for the new case flow."}),
            (14, {"decision": "defer", "note": "Servers last one more year; money to renewal."}),
        ],
        [
            (37, 285, "start", "Small and incidental: publishing only."),
            (41, 145, "start", "Reuses the footage platform of Digitaal Opsporen."),
        ],
    ),
    4: (
        [
            (37, {"decision": "continue", "note": ""}),
            (41, {"decision": "continue", "note": ""}),
            (2, {"decision": "continue", "budget_eur": 1_500_000, "note": "Second phase; still incidental money."}),
            (36, {"rank": 85, "note": "Moved up: local tools go out of support."}),
            (20, {"budget_eur": 2_100_000, "decision": "adjust", "note": "Two rooms done; the rest next year."}),
            (
                11,
                {
                    "budget_eur": 1_000_000,
                    "decision": "adjust",
                    "note": "Smaller upgrade: move to the supplier's cloud later.",
                },
            ),
        ],
        [
            (8, 175, "start", "Explanation for principle RI-02 under review."),
            (58, 395, "start", "Retiring old applications lowers maintenance."),
        ],
    ),
}

ROUNDS = [
    (1, "Rolling portfolio 2025-T3", "2025-T3", (60, 40), "2025-09-01T08:00:00", "2025-12-19T16:00:00"),
    (2, "Rolling portfolio 2026-T1", "2026-T1", (60, 40), "2026-01-12T08:00:00", "2026-04-24T16:00:00"),
    (3, "Rolling portfolio 2026-T2", "2026-T2", (60, 40), "2026-05-11T08:00:00", "2026-08-28T16:00:00"),
    (4, "Rolling portfolio 2026-T3", "2026-T3", (60, 40), "2026-09-07T08:00:00", None),
]

UNITS = {
    "RDM": "Eenheid Rotterdam",
    "AMS": "Eenheid Amsterdam",
    "DH": "Eenheid Den Haag",
    "MN": "Eenheid Midden-Nederland",
    "ON": "Eenheid Oost-Nederland",
    "NN": "Eenheid Noord-Nederland",
    "LB": "Eenheid Limburg",
    "ZWB": "Eenheid Zeeland-West-Brabant",
    "OB": "Eenheid Oost-Brabant",
    "NH": "Eenheid Noord-Holland",
    "LE": "Landelijke Eenheid",
    "PDC": "Politiedienstencentrum",
}

# number, unit, chain, hosting, classification, users, status
EBO_FACTS: list[tuple[int, str, int | None, str, str, int, str]] = [
    # built twice (or three times): the duplicates report finds these
    (1, "RDM", OPS, CLOUD, INTERNAL, 140, "under_review"),
    (2, "AMS", OPS, OWN, INTERNAL, 95, "registered"),
    (3, "ON", NHM, OWN, CONFIDENTIAL, 310, "tolerated"),
    (4, "NN", NHM, OWN, CONFIDENTIAL, 120, "registered"),
    (5, "DH", OPS, OWN, INTERNAL, 600, "adopted"),
    (6, "MN", OPS, OWN, INTERNAL, 250, "under_review"),
    (7, "LB", OPS, OWN, INTERNAL, 180, "registered"),
    (8, "ZWB", OPS, OWN, CONFIDENTIAL, 75, "registered"),
    (9, "OB", OPS, OWN, CONFIDENTIAL, 60, "registered"),
    (10, "NH", BVO, CLOUD, INTERNAL, 400, "tolerated"),
    (11, "RDM", BVO, OWN, INTERNAL, 380, "registered"),
    # everything else: unrelated to each other
    (12, "OB", INT, OWN, CONFIDENTIAL, 40, "registered"),
    (13, "RDM", None, CLOUD, PUBLIC, 30, "registered"),
    (14, "AMS", None, OWN, INTERNAL, 210, "adopted"),
    (15, "LE", NHM, OWN, INTERNAL, 90, "registered"),
    (16, "MN", BVO, CLOUD, PUBLIC, 70, "registered"),
    (17, "LE", OPS, OWN, SECRET, 25, "under_review"),
    (18, "DH", INS, OWN, INTERNAL, 150, "registered"),
    (19, "ON", INT, OWN, CONFIDENTIAL, 55, "registered"),
    (20, "NN", None, OWN, INTERNAL, 35, "registered"),
    (21, "LE", OPS, OWN, CONFIDENTIAL, 900, "adopted"),
    (22, "LB", NHM, OWN, CONFIDENTIAL, 45, "registered"),
    (23, "RDM", NHM, OWN, CONFIDENTIAL, 130, "tolerated"),
    (24, "AMS", OPS, OWN, CONFIDENTIAL, 700, "under_review"),
    (25, "ZWB", INT, OWN, SECRET, 20, "registered"),
    (26, "MN", None, CLOUD, PUBLIC, 15, "registered"),
    (27, "PDC", BVO, OWN, INTERNAL, 1200, "adopted"),
    (28, "RDM", INT, OWN, CONFIDENTIAL, 60, "registered"),
    (29, "OB", INT, OWN, INTERNAL, 40, "registered"),
    (30, "DH", None, OWN, INTERNAL, 500, "phased_out"),
    (31, "NH", OPS, OWN, CONFIDENTIAL, 300, "registered"),
    (32, "LB", None, OWN, INTERNAL, 80, "registered"),
    (33, "ON", INS, CLOUD, PUBLIC, 65, "registered"),
    (34, "NN", BVO, CLOUD, INTERNAL, 240, "registered"),
    (35, "LE", BVO, OWN, INTERNAL, 50, "registered"),
    (36, "AMS", OPS, OWN, SECRET, 110, "under_review"),
    (37, "DH", NHM, OWN, INTERNAL, 45, "registered"),
    (38, "LE", NHM, OWN, CONFIDENTIAL, 35, "registered"),
    (39, "ZWB", INS, OWN, INTERNAL, 90, "registered"),
    (40, "OB", BVO, OWN, INTERNAL, 25, "registered"),
]

# number: name, description, reason of the last decision
EBO_TEXTS: dict[int, tuple[str, str, str | None]] = {
    1: (
        "Verhoorplanner",
        "Plans interview rooms, interpreters and lawyers for suspect interviews.",
        "Looks like the Verhoor Planner of Amsterdam.",
    ),
    2: ("Verhoor Planner", "Planning of interview rooms, interpreters and lawyers for interviews with suspects.", None),
    3: (
        "Kentekenscanner",
        "Checks licence plates photographed by officers against wanted-vehicle lists.",
        "Tolerated until the national ANPR app is available; no new users.",
    ),
    4: (
        "Kenteken-scan app",
        "Officers photograph a licence plate and check it against lists of wanted vehicles.",
        None,
    ),
    5: (
        "Briefingsapp wijkteams",
        "Daily briefing for community teams: wanted persons, hotspots and attention points.",
        "Adopted as the national briefing facility.",
    ),
    6: (
        "Briefing app wijkteam",
        "Briefing of community teams every day with wanted persons, hotspots and points of attention.",
        "Overlaps with the adopted briefing app of Den Haag.",
    ),
    7: (
        "Briefing-app basisteams",
        "Daily briefing for the basic teams: wanted persons, hotspots and attention points.",
        None,
    ),
    8: ("Beslagregistratie", "Registers seized goods, where they are stored and what happens to them.", None),
    9: ("Beslag registratie tool", "Registration of seized goods, their storage location and their destination.", None),
    10: (
        "Roosterplanner noodhulp",
        "Plans shifts of the emergency-response teams, with skills and leave.",
        "Tolerated until the generic rostering facility is live.",
    ),
    11: (
        "Rooster planner Noodhulp",
        "Shift planning of emergency-response teams taking skills and leave into account.",
        None,
    ),
    12: ("Drugsafvaldumpingen-kaart", "Map of drug-waste dumpings for the environmental team.", None),
    13: ("Vuurwerkoverlast-dashboard", "Counts New Year's Eve fireworks incidents per neighbourhood.", None),
    14: (
        "Taakaccenten-lijst",
        "Assigns focus tasks to teams and tracks them.",
        "Adopted into the national work-assignment facility.",
    ),
    15: ("Hondenbrigade-logboek", "Training and deployment log of police dogs.", None),
    16: ("Evenementenkalender", "Calendar of public events that need police capacity.", None),
    17: (
        "Zedenzaken-triage",
        "Triage of reports on sexual offences for the specialised team.",
        "Must move into the case file; review of data protection first.",
    ),
    18: ("Cybercrime-aangifte-hulp", "Helps desk officers take reports of online fraud correctly.", None),
    19: ("Vergunningencheck wapens", "Checks firearm licences before house visits.", None),
    20: ("Verkeershandhaving-statistiek", "Statistics of traffic enforcement per road for planning.", None),
    21: (
        "Mobiel identificeren",
        "Fingerprint check on a phone during street stops.",
        "Adopted: meets the national standard after the review.",
    ),
    22: ("Vermissingen-coördinatie", "Coordinates volunteers and searches for missing persons.", None),
    23: (
        "Inzetlog grootschalig optreden",
        "Log of decisions and units during large-scale operations.",
        "Tolerated until the national crisis log is live.",
    ),
    24: ("Bodycam-beheer", "Manages bodycams: who has which camera, and footage upload.", "Candidate for adoption."),
    25: ("Jeugdcriminaliteit-monitor", "Follows young people at risk with partners in the municipality.", None),
    26: ("Fietsdiefstal-kaart", "Public map of bicycle thefts for prevention campaigns.", None),
    27: (
        "Opleidingsregistratie IBT",
        "Registers self-defence and arrest-skills training per officer.",
        "Adopted into the HR portal.",
    ),
    28: ("Havencontroles-registratie", "Registers checks of containers and ships in the port.", None),
    29: ("Woninginbraak-analyse", "Analyses burglary patterns to plan patrols.", None),
    30: (
        "Tolkenbestand",
        "Directory of sworn interpreters with languages and availability.",
        "Replaced by the national interpreters' register.",
    ),
    31: ("Arrestantenzorg-registratie", "Registers care, meals and visits of detainees in cells.", None),
    32: ("Wijkschouw-app", "Records neighbourhood walk-through observations with photos.", None),
    33: ("Getuigenoproepen-generator", "Creates witness appeals for social media from a case summary.", None),
    34: ("Dienstauto-reservering", "Reserves pool cars for staff.", None),
    35: ("Motorbrigade-onderhoudslog", "Maintenance log of police motorcycles.", None),
    36: (
        "Huiselijk-geweld-signalering",
        "Signals repeated domestic violence at an address to the community officer.",
        "Sensitive data in a unit tool: review with the privacy officer.",
    ),
    37: ("Demonstratie-aanmeldingen", "Tracks notifications of demonstrations and agreements with organisers.", None),
    38: ("Drone-vluchtregistratie", "Registers police drone flights, pilots and permits.", None),
    39: ("Gevonden-voorwerpen-beheer", "Registers lost and found property at the desk.", None),
    40: ("Sporencontainer-inventaris", "Inventory of trace kits and consumables per station.", None),
}


EBO_PATH = {
    "registered": (),
    "under_review": ("under_review",),
    "adopted": ("under_review", "adopted"),
    "tolerated": ("under_review", "tolerated"),
    "phased_out": ("under_review", "phased_out"),
}


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


async def _load_programmes(ctx: RequestContext) -> None:
    for programme in DEMO_PROGRAMMES:
        await programmes.insert(ctx, programmes.to_columns(programme))


async def _load_initiatives(ctx: RequestContext) -> None:
    for n, ch, prog, kind, funding, budget, start, end, status, hosting, cls, generic in sorted(INITIATIVE_FACTS):
        name, description = INITIATIVE_TEXTS[n]
        await initiatives.insert(
            ctx,
            {
                "id": initiative_id(n),
                "name": name,
                "description": description,
                "programme_id": programme_id(prog) if prog is not None else None,
                "value_chain": chain(ch),
                "kind": kind,
                "funding": funding,
                "budget_eur": budget,
                "start": _date(start),
                "end": _date(end),
                "status": status,
                "hosting": hosting,
                "data_classification": cls,
                "uses_generic_facilities": generic,
            },
        )


async def _load_ebos(ctx: RequestContext) -> None:
    for n, unit, ch, hosting, cls, users, status in EBO_FACTS:
        name, description, reason = EBO_TEXTS[n]
        obj = await ebos.insert(
            ctx,
            {
                "id": ebo_id(n),
                "name": name,
                "unit": UNITS[unit],
                "description": description,
                "value_chain": chain(ch) if ch is not None else None,
                "hosting": hosting,
                "data_classification": cls,
                "users": users,
            },
        )
        for step in EBO_PATH[status]:
            why = reason if step == status else "Registered EBOs are reviewed by the portfolio board."
            await ebos.change(
                ctx,
                obj,
                {
                    "status": step,
                    "decision_status": step,
                    "decision_reason": why or "",
                    "decision_by": ctx.principal.sub,
                    "decision_at": obj.updated_at,
                },
            )


async def _item(ctx: RequestContext, round_: str, initiative: int) -> RoundItem:
    found = await ctx.session.scalar(
        select(RoundItem).where(RoundItem.round_id == round_, RoundItem.initiative_id == initiative_id(initiative))
    )
    assert found is not None, f"initiative {initiative} is not in round {round_}"
    return found


async def _load_rounds(ctx: RequestContext) -> None:
    budgets = {row[0]: row[5] for row in INITIATIVE_FACTS}
    previous: Round | None = None
    for n, name, period, (run, renewal), opened, closed in ROUNDS:
        obj = await rounds.insert(
            ctx,
            {
                "id": round_id(n),
                "name": name,
                "period": period,
                "target_run": run,
                "target_renewal": renewal,
                "from_round_id": previous.id if previous is not None else None,
            },
        )
        if previous is None:
            for initiative, rank, decision, note in ROUND_1:
                await round_items.insert(
                    ctx,
                    {
                        "round_id": obj.id,
                        "initiative_id": initiative_id(initiative),
                        "rank": rank,
                        "decision": decision,
                        "note": note,
                        "budget_eur": budgets[initiative],
                    },
                )
        else:
            # Created from the previous round, it starts with that round's items (Rounds.after_insert).
            changes, additions = ROUND_CHANGES[n]
            for initiative, values in changes:
                item = await _item(ctx, obj.id, initiative)
                await round_items.change(ctx, item, values)
            for initiative, rank, decision, note in additions:
                await round_items.insert(
                    ctx,
                    {
                        "round_id": obj.id,
                        "initiative_id": initiative_id(initiative),
                        "rank": rank,
                        "decision": decision,
                        "note": note,
                        "budget_eur": budgets[initiative],
                    },
                )
        await rounds.change(ctx, obj, {"status": "open", "opened_at": _time(opened)})
        if closed is not None:
            await rounds.change(ctx, obj, {"status": "closed", "closed_at": _time(closed)})
        previous = obj


async def load(ctx: RequestContext) -> None:
    await _load_programmes(ctx)
    await _load_initiatives(ctx)
    await _load_ebos(ctx)
    await _load_rounds(ctx)
