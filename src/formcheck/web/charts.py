"""Small inline SVG line charts for an athlete's trends (no charting library, no script)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

W, H = 520, 190
LEFT, RIGHT, TOP, BOTTOM = 48, 14, 28, 34
COLORS = ("#1f6feb", "#d97706", "#059669")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


def _fmt(v: float, digits: int) -> str:
    return f"{v:.{digits}f}"


def nice_ticks(lo: float, hi: float, count: int = 4, min_step: float = 0.0) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 x 10^k, at least min_step) covering [lo, hi]."""
    span = hi - lo if hi > lo else max(abs(hi) * 0.1, 1.0)
    raw = max(span / (count - 1), min_step)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor((lo if hi > lo else lo - span / 2) / step) * step
    ticks = [first]
    while ticks[-1] < (hi if hi > lo else hi + span / 2) - 1e-9:
        ticks.append(ticks[-1] + step)
    return ticks


def _digits(ticks: list[float]) -> int:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else (1 if step % 1 else 0)


def trend_svg(
    title: str,
    labels: list[str],
    series: list[Series],
    unit: str = "",
    digits: int = 1,
    reference: tuple[float, str] | None = None,
    lines: list[tuple[float, str]] | None = None,
) -> str:
    """A chart of one or more series over sessions (x: session order, labelled by date).
    Missing values leave a gap; `reference` draws a labelled horizontal line (e.g. 180 deg);
    `lines` more of them, dashed (e.g. the lockout and overextension lines)."""
    refs = ([(*reference, "r")] if reference else []) + [(v, label, "r d") for v, label in lines or []]
    known = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    head = (
        f'<svg class="trend" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="{LEFT}" y="16" class="t">{escape(title)}</text>'
    )
    if not known:
        return (
            head
            + f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" class="m">no finished session yet</text>'
            + "</svg>"
        )
    bounds = known + [v for v, _, _ in refs]
    ticks = nice_ticks(min(bounds), max(bounds), min_step=1.0 if digits == 0 else 0.0)
    lo, hi, tick_digits = ticks[0], ticks[-1], _digits(ticks)
    top = TOP + (16 if len(series) > 1 else 0)  # a legend row under the title
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (0.5 if n == 1 else i / (n - 1))

    def y(v: float) -> float:
        return top + (H - top - BOTTOM) * (1 - (v - lo) / (hi - lo))

    parts = [head]
    for v in ticks:  # gridlines with values
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="g"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="a">'
            f"{_fmt(v, tick_digits)}</text>"
        )
    for value, label, cls in refs:
        ry = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{ry:.1f}" y2="{ry:.1f}" class="{cls}"'
            f' data-deg="{value:g}"/>'
            f'<text x="{W - RIGHT}" y="{ry - 4:.1f}" text-anchor="end" class="a">'
            f"{escape(label)}</text>"
        )
    for i in sorted({0, n - 1, (n - 1) // 2}):
        if i < len(labels):
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            parts.append(
                f'<text x="{x(i):.1f}" y="{H - 12}" text-anchor="{anchor}" class="a">'
                f"{escape(labels[i])}</text>"
            )
    for k, s in enumerate(series):
        color = COLORS[k % len(COLORS)]
        parts.append(_line(s, x, y, color, unit, digits, labels))
        if len(series) > 1:
            lx = LEFT + 100 * k
            parts.append(
                f'<line x1="{lx}" x2="{lx + 16}" y1="30" y2="30" stroke="{color}" stroke-width="3"/>'
                f'<text x="{lx + 20}" y="34" class="a">{escape(s.name)}</text>'
            )
    return "".join(parts) + "</svg>"


def _line(s: Series, x, y, color: str, unit: str, digits: int, labels: list[str]) -> str:
    runs: list[list[str]] = [[]]
    dots = []
    for i, v in enumerate(s.values):
        if v is None or not math.isfinite(v):
            runs.append([])
            continue
        runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        label = labels[i] if i < len(labels) else ""
        dots.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{color}">'
            f"<title>{escape(label)}: {escape(s.name)} {_fmt(v, digits)}{escape(unit)}</title></circle>"
        )
    lines = "".join(
        f'<polyline points="{" ".join(r)}" fill="none" stroke="{color}" stroke-width="2"/>'
        for r in runs
        if len(r) > 1
    )
    return lines + "".join(dots)
