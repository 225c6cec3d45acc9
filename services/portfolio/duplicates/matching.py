"""Finding things built twice ("ontdubbelen") without comparing every pair.

Names and descriptions are normalised (case, accents, punctuation, Dutch and English stop words and
words that name the form rather than the function, like "app" or "tool"). Candidates are then
*blocked*: a record is only compared with records that share a telling name token (one that at most
``BLOCK_CAP`` records have), a five-letter token prefix (which catches Dutch compounds:
"verhoorplanner" / "verhoor planner"), or that sort near it by sorted tokens or by letters (forwards
and backwards, catching typos at either end). The number of comparisons grows about linearly with
the number of records instead of quadratically. Candidates are scored with rapidfuzz, in batches per
record: the name counts for 60 %, the description for 40 % (the name alone when either has none).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

NAME_WEIGHT = 0.6
DESCRIPTION_WEIGHT = 0.4
BLOCK_CAP = 50
"""A token shared by more records than this says little about sameness; its block is skipped (the
records still meet through rarer tokens and the sorted neighbourhoods)."""
WINDOW = 6
"""How many neighbours on each side a record meets in each sorted order."""
PREFIX = 5
SUBSET_DISCOUNT = 0.9
"""One name's words all found in the other's scores at most 90: a shared word is not a match."""
PREFILTER = 50.0
"""Pairs whose sorted words and letters are both less than half alike get no subset ratio (unless
the cutoff is lower still)."""

_STOP_WORDS = """
aan al alle als bij dan dat de deze die dit door een en er het hier hij hoe hun ik in is je kan met na naar
niet nog of om onder ons onze ook op over per te ten ter tot uit van voor wat we wel werd wie wij wordt worden
zal ze zich zij zijn zo
a an and are as at be by for from in into is it of on or the this to with
app apps applicatie applicaties systeem systemen tool tools toepassing omgeving nieuw nieuwe versie
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
"""Dutch and English function words, and words that name the form rather than the function."""

_SEPARATORS = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    """Lower case, accents stripped, split on anything that is not a letter or digit."""
    plain = text.casefold()
    if not plain.isascii():
        plain = "".join(c for c in unicodedata.normalize("NFKD", plain) if not unicodedata.combining(c))
    return [w for w in _SEPARATORS.split(plain) if w]


def tokens(text: str) -> list[str]:
    """``words`` without stop words and single letters; all words when nothing else is left."""
    all_words = words(text)
    kept = [w for w in all_words if w not in STOP_WORDS and len(w) > 1]
    return kept or all_words


@dataclass(frozen=True)
class Match:
    first: int
    second: int
    score: float
    name_score: float
    description_score: float | None


@dataclass
class Prepared:
    names: list[str]
    """Normalised tokens joined by spaces."""
    sorted_names: list[str]
    """The same tokens sorted: a plain ratio over these is a token-sort ratio."""
    squashed: list[str]
    """The tokens joined without spaces: compounds written together or apart look alike."""
    keys: list[set[str]]
    """Blocking keys: telling tokens and five-letter token prefixes."""


def prepare(names: Sequence[str]) -> Prepared:
    prepared = Prepared([], [], [], [])
    for name in names:
        toks = tokens(name)
        prepared.names.append(" ".join(toks))
        prepared.sorted_names.append(" ".join(sorted(toks)))
        prepared.squashed.append("".join(toks))
        keys = {"t:" + t for t in toks if len(t) >= 3}
        keys.update("p:" + t[:PREFIX] for t in toks if len(t) > PREFIX)
        prepared.keys.append(keys)
    return prepared


def candidates(prepared: Prepared, *, block_cap: int = BLOCK_CAP, window: int = WINDOW) -> list[list[int]]:
    """For each record i, the records j > i worth scoring against it."""
    n = len(prepared.names)
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, keys in enumerate(prepared.keys):
        for key in keys:
            blocks[key].append(index)
    usable = {key: members for key, members in blocks.items() if 1 < len(members) <= block_cap}
    orders = [
        sorted(range(n), key=lambda i: prepared.sorted_names[i]),
        sorted(range(n), key=lambda i: prepared.squashed[i]),
        sorted(range(n), key=lambda i: prepared.squashed[i][::-1]),
    ]
    positions = []
    for order in orders:
        position = [0] * n
        for place, index in enumerate(order):
            position[index] = place
        positions.append(position)
    later: list[list[int]] = []
    for i in range(n):
        found: set[int] = set()
        for key in prepared.keys[i]:
            members = usable.get(key)
            if members is not None:
                found.update(members)
        for order, position in zip(orders, positions, strict=True):
            place = position[i]
            found.update(order[max(0, place - window) : place + window + 1])
        later.append(sorted(j for j in found if j > i))
    return later


def name_similarity(a: str, b: str) -> float:
    """The best of: the words in any order, the letters without spaces (Dutch compounds are written
    together or apart), and one name's words contained in the other's (discounted). This is what
    ``find_duplicates`` computes in batches."""
    p = prepare([a, b])
    return max(
        fuzz.ratio(p.sorted_names[0], p.sorted_names[1]),
        fuzz.ratio(p.squashed[0], p.squashed[1]),
        SUBSET_DISCOUNT * fuzz.token_set_ratio(p.names[0], p.names[1]),
    )


def description_similarity(a: str, b: str) -> float:
    """Same words in any order, softened when one only repeats a part of the other."""
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def _name_scores(prepared: Prepared, i: int, others: Sequence[int], cutoff: float) -> dict[int, float]:
    """Name similarity of record i with each of ``others`` (by position) that reaches ``cutoff``.
    Each scorer runs over all of them inside rapidfuzz; the slower subset ratio only over the pairs
    that are at least half alike by sorted words or letters."""
    scored: dict[int, float] = {}
    alike: set[int] = set()
    prefilter = min(PREFILTER, cutoff)
    for query, choices in (
        (prepared.sorted_names[i], [prepared.sorted_names[j] for j in others]),
        (prepared.squashed[i], [prepared.squashed[j] for j in others]),
    ):
        for _, raw, k in process.extract(query, choices, scorer=fuzz.ratio, score_cutoff=prefilter, limit=None):
            alike.add(k)
            if raw >= cutoff:
                scored[k] = max(scored.get(k, 0.0), raw)
    if alike:
        positions = sorted(alike)
        subset_cutoff = min(100.0, cutoff / SUBSET_DISCOUNT)
        choices = [prepared.names[others[k]] for k in positions]
        for _, raw, at in process.extract(
            prepared.names[i], choices, scorer=fuzz.token_set_ratio, score_cutoff=subset_cutoff, limit=None
        ):
            k = positions[at]
            scored[k] = max(scored.get(k, 0.0), raw * SUBSET_DISCOUNT)
    return {k: v for k, v in scored.items() if v >= cutoff and v > 0}


def find_duplicates(
    names: Sequence[str],
    descriptions: Sequence[str],
    min_score: float,
    *,
    groups: Sequence[str | None] | None = None,
    across_groups: bool = False,
    block_cap: int = BLOCK_CAP,
    window: int = WINDOW,
) -> list[Match]:
    """Pairs (first < second, as indices) scoring at least ``min_score`` (0..100), best first;
    ``across_groups`` skips pairs within one group (an EBO's unit)."""
    prepared = prepare(names)
    # A pair reaches min_score only if its name reaches this, even with identical descriptions.
    name_cutoff = max(0.0, (min_score - DESCRIPTION_WEIGHT * 100) / NAME_WEIGHT)
    described: dict[int, str] = {}

    def description(i: int) -> str:
        if i not in described:
            described[i] = " ".join(tokens(descriptions[i])) if descriptions[i].strip() else ""
        return described[i]

    matches = []
    for i, others in enumerate(candidates(prepared, block_cap=block_cap, window=window)):
        if across_groups and groups is not None:
            others = [j for j in others if groups[j] != groups[i]]
        if not others:
            continue
        for k, name_score in _name_scores(prepared, i, others, name_cutoff).items():
            j = others[k]
            first, second = description(i), description(j)
            if first and second:
                description_score: float | None = description_similarity(first, second)
                score = NAME_WEIGHT * name_score + DESCRIPTION_WEIGHT * (description_score or 0.0)
            else:
                description_score = None
                score = name_score
            if score >= min_score:
                matches.append(
                    Match(
                        first=i,
                        second=j,
                        score=round(score, 1),
                        name_score=round(name_score, 1),
                        description_score=None if description_score is None else round(description_score, 1),
                    )
                )
    matches.sort(key=lambda m: (-m.score, m.first, m.second))
    return matches
