"""Times ``GET /v1/duplicates?kind=ebo`` at 1,000 and 10,000 EBOs.

Run from the repository root: ``.venv/bin/python bench/duplicates_bench.py`` (it puts the repository
on ``sys.path`` itself). The portfolio app runs in-process on a temporary SQLite database filled with
generated EBOs: names of two or three words from a Zipf-distributed vocabulary of Dutch-sounding
words (so some words are common and most are rare, as in a real register), about 2 % of them
planted near-duplicates of another (a typo, words swapped or joined, a unit's suffix). Each size is
timed several times after one warm-up request; the best time counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from services.chassis.auth import ensure_dev_key, issue_dev_token  # noqa: E402
from services.chassis.db import Database  # noqa: E402
from services.chassis.ids import new_id  # noqa: E402
from services.chassis.migrations import upgrade  # noqa: E402
from services.chassis.settings import ServiceSettings  # noqa: E402
from services.portfolio.app import MIGRATIONS, create_app  # noqa: E402
from services.portfolio.ebos.models import Ebo  # noqa: E402

SIZES = (1_000, 10_000)
REPEATS = 3
MIN_SCORE = 80
DUPLICATE_SHARE = 0.02
VOCABULARY = 6_000
ZIPF_EXPONENT = 0.8

ONSETS = ["b", "d", "k", "v", "w", "st", "sch", "gr", "br", "pl", "r", "m", "z", "h", "tr", "sl", "kl", "sp"]
VOWELS = ["a", "e", "i", "o", "u", "aa", "ee", "oo", "ui", "ij", "ei", "ou"]
CODAS = ["", "n", "r", "k", "l", "s", "t", "ng", "rd", "lt", "ns"]
UNITS = [
    "Eenheid Rotterdam",
    "Eenheid Amsterdam",
    "Eenheid Den Haag",
    "Eenheid Midden-Nederland",
    "Eenheid Oost-Nederland",
    "Eenheid Noord-Nederland",
    "Eenheid Limburg",
    "Eenheid Zeeland-West-Brabant",
    "Eenheid Oost-Brabant",
    "Eenheid Noord-Holland",
    "Landelijke Eenheid",
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)))
    return sorted(words)


def variant(rng: random.Random, name: str) -> str:
    """A near-duplicate: how the same thing gets named in another unit."""
    words = name.split()
    choice = rng.randrange(4)
    if choice == 0 and len(words) > 1:
        words.reverse()
    elif choice == 1 and len(words) > 1:
        return "".join(words).capitalize()
    elif choice == 2:
        word = words[-1]
        position = rng.randrange(1, len(word))
        words[-1] = word[:position] + word[position + 1 :]
    else:
        words.append("app")
    return " ".join(words)


def generate(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], set[frozenset[str]]]:
    """``n`` EBO rows, and the planted pairs (original, near-duplicate) by id."""
    rng = random.Random(seed)
    words = vocabulary(rng, VOCABULARY)
    weights = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(words))]
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    planted: set[frozenset[str]] = set()
    for _ in range(n):
        id_ = new_id()
        if rows and rng.random() < DUPLICATE_SHARE:
            original = rng.choice(rows)
            name, description = variant(rng, original["name"]), original["description"]
            planted.add(frozenset((original["id"], id_)))
        else:
            name = " ".join(rng.choices(words, weights, k=rng.randint(2, 3))).capitalize()
            description = " ".join(rng.choices(words, weights, k=rng.randint(6, 14)))
        rows.append(
            {
                "id": id_,
                "version": 1,
                "status": "registered",
                "created_at": now,
                "updated_at": now,
                "name": name[:200],
                "unit": rng.choice(UNITS),
                "description": description,
                "value_chain": None,
                "hosting": "own_platform",
                "data_classification": "internal",
                "users": rng.randint(1, 500),
            }
        )
    return rows, planted


async def time_size(n: int, workdir: Path) -> tuple[float, float]:
    """Best time for the first page, and the share of planted pairs found over all pages."""
    url = f"sqlite+aiosqlite:///{workdir / f'portfolio-{n}.db'}"
    await upgrade(MIGRATIONS, url)
    settings = ServiceSettings(
        service="portfolio", database_url=url, var_dir=workdir, log_level="WARNING", log_json=False
    )
    database = Database(url, pool_size=2)
    rows, planted = generate(n)
    async with database.session(write=True) as session:
        await session.execute(insert(Ebo), rows)
    app = create_app(settings, database=database)
    token = issue_dev_token(settings, sub="bench", roles=["admin"])
    params = {"kind": "ebo", "min_score": str(MIN_SCORE), "limit": "100"}
    times = []
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            found: set[frozenset[str]] = set()
            page: str | None = "/v1/duplicates?" + "&".join(f"{k}={v}" for k, v in params.items())
            while page is not None:  # every page once: warms up, and counts the planted pairs found
                response = await client.get(page.removeprefix("/portfolio"))
                response.raise_for_status()
                body = response.json()
                found.update(frozenset((p["a"]["href"][-36:], p["b"]["href"][-36:])) for p in body["items"])
                page = body["next"]
            for _ in range(REPEATS):
                started = time.perf_counter()
                response = await client.get("/v1/duplicates", params=params)
                times.append(time.perf_counter() - started)
                response.raise_for_status()
    await database.dispose()
    return min(times), len(planted & found) / len(planted)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iv-dup-bench-") as tmp:
        workdir = Path(tmp)
        ensure_dev_key(workdir / "dev-signing-key.pem")
        results = {}
        for n in SIZES:
            best, recall = await time_size(n, workdir)
            results[n] = best
            print(
                f"{n:>6,} EBOs: {best * 1000:8.1f} ms for the first page (best of {REPEATS}); "
                f"planted near-duplicates found: {recall:.0%}"
            )
        small, large = results[SIZES[0]], results[SIZES[-1]]
        growth = SIZES[-1] // SIZES[0]
        print(f"ratio {large / small:.1f}x for {growth}x the EBOs (comparing every pair would be {growth**2}x)")


if __name__ == "__main__":
    asyncio.run(main())
