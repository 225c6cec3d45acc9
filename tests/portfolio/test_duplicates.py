"""Ontdubbelen: planted near-duplicates are found, unrelated records are not, and the list pages."""

from __future__ import annotations

from typing import Any

import pytest

from services.portfolio.duplicates.matching import candidates, find_duplicates, name_similarity, prepare, tokens
from tests.conftest import Suite
from tests.portfolio.helpers import created, ebo_body, initiative_body, local, make_chain, pm
from tests.support import Tokens

PLANTED = [
    (
        (
            "Verhoorplanner",
            "Eenheid Rotterdam",
            "Plans interview rooms, interpreters and lawyers for suspect interviews.",
        ),
        (
            "Verhoor Planner",
            "Eenheid Amsterdam",
            "Planning of interview rooms, interpreters and lawyers for interviews with suspects.",
        ),
    ),
    (
        (
            "Kentekenscanner",
            "Eenheid Oost-Nederland",
            "Checks licence plates photographed by officers against wanted-vehicle lists.",
        ),
        (
            "Kenteken-scan app",
            "Eenheid Noord-Nederland",
            "Officers photograph a licence plate and check it against lists of wanted vehicles.",
        ),
    ),
    (
        (
            "Roosterplanner noodhulp",
            "Eenheid Noord-Holland",
            "Plans shifts of the emergency-response teams, with skills and leave.",
        ),
        (
            "Rooster planner Noodhulp",
            "Eenheid Rotterdam",
            "Shift planning of emergency-response teams taking skills and leave into account.",
        ),
    ),
]
UNRELATED = [
    ("Hondenbrigade-logboek", "Landelijke Eenheid", "Training and deployment log of police dogs."),
    ("Evenementenkalender", "Eenheid Midden-Nederland", "Calendar of public events that need police capacity."),
    ("Fietsdiefstal-kaart", "Eenheid Midden-Nederland", "Public map of bicycle thefts for prevention campaigns."),
    ("Drone-vluchtregistratie", "Landelijke Eenheid", "Registers police drone flights, pilots and permits."),
    ("Tolkenbestand", "Eenheid Den Haag", "Directory of sworn interpreters with languages and availability."),
    ("Rooster van de wijkagent", "Eenheid Rotterdam", "When the community officer holds office hours."),
]


def test_normalisation() -> None:
    assert tokens("De Verhoor-Planner voor de Eenheid") == ["verhoor", "planner", "eenheid"]
    assert tokens("Café app") == ["cafe"]
    assert tokens("Het systeem") == ["het", "systeem"]  # nothing left: keep what there is
    assert name_similarity("Verhoorplanner", "verhoor planner") == 100
    assert name_similarity("Beheer HR-systeem", "Beheer salarisadministratie") < 75


def test_blocking_meets_compounds_and_typos_without_comparing_everything() -> None:
    filler = [f"Systeem {w}{i}" for i, w in enumerate(["alfa", "bravo", "charlie", "delta"] * 50)]
    names = ["Verhoorplanner", *filler, "Verhoor planner", "Kentekenscanner", "Kentekenscaner"]
    later = candidates(prepare(names))
    pairs = {(i, j) for i, others in enumerate(later) for j in others}
    n = len(names)
    assert (0, n - 3) in pairs and (n - 2, n - 1) in pairs
    assert len(pairs) < n * (n - 1) / 2 / 4
    found = find_duplicates(names, [""] * n, 85)
    assert {(m.first, m.second) for m in found} >= {(0, n - 3), (n - 2, n - 1)}


async def test_planted_ebo_duplicates_are_found_best_first(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("portfolio", pm(tokens)) as client:
        hrefs: dict[str, str] = {}
        for name, unit, description in [r for pair in PLANTED for r in pair] + UNRELATED:
            ebo = await created(client, "/v1/ebos", ebo_body(unit, name=name, description=description))
            hrefs[name] = ebo["href"]
        same_unit = await created(
            client, "/v1/ebos", ebo_body("Eenheid Rotterdam", name="Verhoorplanner", description=PLANTED[0][0][2])
        )

        response = await client.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})
        assert response.status_code == 200, response.text
        pairs = response.json()["items"]
        found = {frozenset((p["a"]["href"], p["b"]["href"])) for p in pairs}
        for (first, *_), (second, *_) in PLANTED:
            assert frozenset((hrefs[first], hrefs[second])) in found
        unrelated = {hrefs[name] for name, *_ in UNRELATED}
        assert not any({p["a"]["href"], p["b"]["href"]} & unrelated for p in pairs)
        scores = [p["score"] for p in pairs]
        assert scores == sorted(scores, reverse=True) and all(80 <= s <= 100 for s in scores)
        top = pairs[0]
        assert {top["a_name"], top["b_name"]} <= {"Verhoorplanner", "Verhoor Planner"}
        assert top["a_unit"] and top["name_score"] >= top["score"] - 20 and top["description_score"] is not None

        across = (await client.get("/v1/duplicates", params={"kind": "ebo", "across_units": True, "limit": 100})).json()
        assert all(p["a_unit"] != p["b_unit"] for p in across["items"])
        assert same_unit["href"] in {h for p in pairs for h in (p["a"]["href"], p["b"]["href"])}
        assert len(across["items"]) < len(pairs)

        # Paged like every list.
        first = (await client.get("/v1/duplicates", params={"kind": "ebo", "limit": 2})).json()
        assert first["items"] == pairs[:2] and first["next"]
        second = (await client.get(local(first["next"]))).json()
        assert second["items"] == pairs[2:4]

        strict = (await client.get("/v1/duplicates", params={"kind": "ebo", "min_score": 99, "limit": 100})).json()
        assert all(p["score"] >= 99 for p in strict["items"]) and len(strict["items"]) < len(pairs)

        invalid: list[dict[str, str | int | bool]] = [
            {"kind": "ebo", "min_score": 101},
            {"kind": "team"},
            {},
            {"kind": "initiative", "across_units": True},
        ]
        for params in invalid:
            assert (await client.get("/v1/duplicates", params=params)).status_code == 422
        assert (await client.get("/v1/duplicates", params={"kind": "ebo", "after": "garbage"})).status_code == 422
        # Archived EBOs are left out.
        await client.delete(local(hrefs["Kenteken-scan app"]))
        after = (await client.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})).json()["items"]
        assert all(hrefs["Kenteken-scan app"] not in (p["a"]["href"], p["b"]["href"]) for p in after)


async def test_initiatives_built_twice(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    bodies: list[dict[str, Any]] = [
        initiative_body(
            chain,
            name="Digitale aangifte met foto en video",
            description="Citizens add photos and video to an online crime report; investigators see them in the file.",
        ),
        initiative_body(
            chain,
            name="Aangifte online met foto's en video",
            description="Citizens add photos and videos to their online report, investigators see them in the file.",
        ),
        initiative_body(
            chain, name="Beheer HR-systeem", description="Keeps the HR system current.", kind="maintenance"
        ),
        initiative_body(
            chain, name="Beheer salarisadministratie", description="Keeps payroll current.", kind="maintenance"
        ),
        initiative_body(
            chain,
            name="Digitale aangifte met foto's en video's",
            description="Same, but secret.",
            data_classification="secret",
        ),
    ]
    async with suite.client("portfolio", pm(tokens)) as client:
        made = [await created(client, "/v1/initiatives", b) for b in bodies]
    async with suite.client("portfolio", tokens("reader", clearance="confidential")) as reader:
        pairs = (await reader.get("/v1/duplicates", params={"kind": "initiative", "limit": 100})).json()["items"]
        found = {frozenset((p["a"]["href"], p["b"]["href"])) for p in pairs}
        assert frozenset((made[0]["href"], made[1]["href"])) in found
        assert frozenset((made[2]["href"], made[3]["href"])) not in found
        assert all(made[4]["href"] not in pair for pair in found)
        assert all(p["a_unit"] is None for p in pairs)


async def test_pairs_are_computed_once_per_register_version(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.portfolio.duplicates import service

    computed: list[int] = []

    def counting(names: Any, *args: Any, **kwargs: Any) -> Any:
        computed.append(len(names))
        return find_duplicates(names, *args, **kwargs)

    monkeypatch.setattr(service, "find_duplicates", counting)
    params: dict[str, str | int] = {"kind": "ebo", "limit": 1}
    async with suite.client("portfolio", pm(tokens)) as client:
        for first, second in PLANTED:
            for name, unit, description in (first, second):
                await created(client, "/v1/ebos", ebo_body(unit, name=name, description=description))
        whole = (await client.get("/v1/duplicates", params={**params, "limit": 100})).json()["items"]
        page = (await client.get("/v1/duplicates", params=params)).json()
        pages = [page["items"]]
        while page["next"]:
            page = (await client.get(local(page["next"]))).json()
            pages.append(page["items"])
        assert [pair for items in pages for pair in items] == whole
        assert len(computed) == 1  # every page from the pairs computed for the first

        # A write moves the change feed's head: a new version of the register, computed anew.
        await created(client, "/v1/ebos", ebo_body("Eenheid Den Haag", name="Verhoorplanner Den Haag"))
        again = (await client.get("/v1/duplicates", params={**params, "limit": 100})).json()["items"]
        assert len(computed) == 2
        assert len(again) > len(whole)

    # Another caller may see other records: pairs are kept per set of visible records.
    async with suite.client("portfolio", pm(tokens, clearance="secret")) as cleared:
        hidden = await created(
            cleared,
            "/v1/ebos",
            ebo_body(
                "Eenheid Zeeland", name="Kentekenscanner", description=PLANTED[1][0][2], data_classification="secret"
            ),
        )
        secret_pairs = (await cleared.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})).json()
    async with suite.client("portfolio", tokens("reader", clearance="internal")) as reader:
        visible_pairs = (await reader.get("/v1/duplicates", params={"kind": "ebo", "limit": 100})).json()
    assert len(computed) == 4
    assert secret_pairs["coverage"]["left_out"] == 0
    assert visible_pairs["coverage"]["left_out"] == 1
    assert hidden["href"] in {p[side]["href"] for p in secret_pairs["items"] for side in ("a", "b")}
    assert hidden["href"] not in {p[side]["href"] for p in visible_pairs["items"] for side in ("a", "b")}


def test_the_pair_cache_is_bounded() -> None:
    from services.chassis.figures import Coverage
    from services.portfolio.duplicates.service import Compared, PairCache

    cache = PairCache(size=2)
    empty = Compared(rows=[], matches=[], positions=[], coverage=Coverage.visible(seen=0, total=0))
    for n in range(3):
        cache.put((n,), empty)
    assert len(cache) == 2
    assert cache.get((0,)) is None
    assert cache.get((2,)) is empty
