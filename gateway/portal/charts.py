"""Charts as server-rendered SVG, each with its numbers in text beside it.

A chart is a ``<figure>``: the SVG (``role="img"``, its ``<title>`` and ``<desc>`` naming what it
shows and every value, so a screen reader reads the numbers) and a table of the same numbers as its
caption, which prints and copies as text. Nothing is computed here but geometry: the values are the
API's, passed in as they came. No script, no external asset; colours come from the portal's CSS
classes (``part-1`` .. ``part-6``), so print and high contrast follow the stylesheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

WIDTH = 480
BAR_HEIGHT = 28
_ids = count(1)
NONE = "\u2013"  # an en dash: no value


@dataclass(frozen=True)
class Part:
    """One value of a chart: its label (Dutch, for the page), its value and how to write it."""

    label: str
    value: float
    text: str


def number(value: float | int | None, decimals: int = 0, unit: str = "") -> str:
    """A number the Dutch way (decimal comma, dot for thousands), with its unit: ``41,9 %``."""
    if value is None:
        return NONE
    text = f"{value:,.{decimals}f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"{text}\u00a0{unit}" if unit else text


def euro(value: float | int | None) -> str:
    return NONE if value is None else "€\u00a0" + number(value)


def split_bar(title: str, parts: Sequence[Part], *, description: str = "") -> Markup:
    """One bar divided into ``parts`` in proportion to their values (a split such as 64/12/24)."""
    total = sum(max(part.value, 0) for part in parts)
    chart_id = f"chart-{next(_ids)}"
    summary = "; ".join(f"{part.label}: {part.text}" for part in parts)
    shapes = []
    x = 0.0
    for index, part in enumerate(parts, start=1):
        width = WIDTH * max(part.value, 0) / total if total else 0
        shapes.append(
            f'<rect class="part-{index}" x="{x:.1f}" y="0" width="{width:.1f}" height="{BAR_HEIGHT}">'
            f"<title>{escape(part.label)}: {escape(part.text)}</title></rect>"
        )
        x += width
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {BAR_HEIGHT}" width="{WIDTH}" height="{BAR_HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description or summary)}</desc>' + "".join(shapes) + "</svg>"
    )
    return _figure(title, svg, parts)


def level_bar(title: str, part: Part, limit: Part, *, maximum: float = 100.0) -> Markup:
    """One value against its limit on a scale to ``maximum`` (the external share against the chain's limit)."""
    chart_id = f"chart-{next(_ids)}"
    scale = WIDTH / maximum if maximum else 0
    width = min(max(part.value, 0) * scale, WIDTH)
    at = min(max(limit.value, 0) * scale, WIDTH)
    over = " over" if part.value > limit.value else ""
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {BAR_HEIGHT}" width="{WIDTH}" height="{BAR_HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(part.label)}: {escape(part.text)}; '
        f"{escape(limit.label)}: {escape(limit.text)}</desc>"
        f'<rect class="track" x="0" y="0" width="{WIDTH}" height="{BAR_HEIGHT}"/>'
        f'<rect class="level{over}" x="0" y="4" width="{width:.1f}" height="{BAR_HEIGHT - 8}"/>'
        f'<line class="limit" x1="{at:.1f}" y1="0" x2="{at:.1f}" y2="{BAR_HEIGHT}"/>'
        "</svg>"
    )
    return _figure(title, svg, [part, limit])


def _figure(title: str, svg: str, parts: Sequence[Part]) -> Markup:
    rows = "".join(
        f'<tr><th scope="row"><span class="swatch part-{index}" aria-hidden="true"></span>{escape(part.label)}</th>'
        f'<td class="num">{escape(part.text)}</td></tr>'
        for index, part in enumerate(parts, start=1)
    )
    return Markup(  # noqa: S704 - every value in it is escaped above
        f'<figure class="figure">{svg}<figcaption><table class="figures">'
        f"<caption>{escape(title)}</caption><tbody>{rows}</tbody></table></figcaption></figure>"
    )


@dataclass(frozen=True)
class Point:
    """One moment of a trend: its label, the value and its target (both as the API gave them)."""

    label: str
    value: float
    text: str
    target: float
    target_text: str


TREND_HEIGHT = 160


def trend_bars(title: str, points: Sequence[Point], *, value_label: str, target_label: str) -> Markup:
    """A bar per point on a scale of 0 to 100, each with its target as a line across it."""
    chart_id = f"chart-{next(_ids)}"
    slot = WIDTH / max(len(points), 1)
    shapes = []
    for index, point in enumerate(points):
        x = index * slot + slot * 0.2
        height = TREND_HEIGHT * min(max(point.value, 0), 100) / 100
        at = TREND_HEIGHT * (1 - min(max(point.target, 0), 100) / 100)
        shapes.append(
            f'<rect class="level" x="{x:.1f}" y="{TREND_HEIGHT - height:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{height:.1f}"><title>{escape(point.label)}: {escape(point.text)}</title></rect>'
            f'<line class="limit" x1="{index * slot + slot * 0.1:.1f}" y1="{at:.1f}" '
            f'x2="{index * slot + slot * 0.9:.1f}" y2="{at:.1f}"/>'
        )
    summary = "; ".join(
        f"{point.label}: {value_label} {point.text}, {target_label} {point.target_text}" for point in points
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {TREND_HEIGHT}" width="{WIDTH}" height="{TREND_HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>'
        f'<rect class="track" x="0" y="0" width="{WIDTH}" height="{TREND_HEIGHT}"/>' + "".join(shapes) + "</svg>"
    )
    rows = "".join(
        f'<tr><th scope="row">{escape(point.label)}</th><td class="num">{escape(point.text)}</td>'
        f'<td class="num">{escape(point.target_text)}</td></tr>'
        for point in points
    )
    return Markup(  # noqa: S704 - every value in it is escaped above
        f'<figure class="figure">{svg}<figcaption><table class="figures"><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">Ronde</th><th scope="col" class="num">{escape(value_label)}</th>'
        f'<th scope="col" class="num">{escape(target_label)}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></figcaption></figure>"
    )
