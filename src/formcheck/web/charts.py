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
    include: tuple[float, ...] = (),
) -> str:
    """A chart of one or more series over sessions (x: session order, labelled by date and time).
    `include`: values the axis always spans (0 for counts and durations, 0-100 for a score), so a
    small change is never zoomed into a cliff.
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
    bounds = known + [v for v, _, _ in refs] + list(include)
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


ANGLE_RANGE = (60.0, 200.0)  # the overlay's fixed hip-angle axis: wider only if a curve leaves it


def overlay_svg(title: str, sides: list[tuple[str, dict | None, float | None]]) -> str:
    """Hip-angle curves of several sets on one time axis, each shifted so its sync time is 0 s
    (the start of the same rep). A set without a curve or a sync time is named in the legend as
    missing; the angle axis is fixed (ANGLE_RANGE) so two sets are never zoomed into a difference."""
    pts: list[tuple[str, list[tuple[float, float | None]]]] = []
    for label, curve, sync in sides:
        if not curve or not curve.get("t") or sync is None:
            pts.append((label, []))
            continue
        pts.append((label, [(t - sync, v) for t, v in zip(curve["t"], curve["hip_deg"], strict=False)
                            if t >= sync - 0.5]))  # fmt: skip
    known = [v for _, p in pts for _, v in p if v is not None]
    lo = min(ANGLE_RANGE[0], math.floor(min(known, default=90.0) / 10) * 10)
    hi = max(ANGLE_RANGE[1], math.ceil(max(known, default=180.0) / 10) * 10)
    end = max([t for _, p in pts for t, _ in p[-1:]], default=1.0)
    top = TOP + 16
    head = (f'<svg class="trend overlay" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}"'
            f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<text x="{LEFT}" y="16" class="t">{escape(title)}</text>')  # fmt: skip

    def x(t: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * (t + 0.5) / (end + 0.5)

    def y(v: float) -> float:
        return top + (H - top - BOTTOM) * (1 - (v - lo) / (hi - lo))

    parts = [head]
    for v in range(int(lo), int(hi) + 1, 20 if hi - lo > 100 else 10):
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="g"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="a">{v}</text>'
        )
    parts.append(  # the straight line, and the rep's start
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(180):.1f}" y2="{y(180):.1f}" class="r"/>'
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{H - BOTTOM}" class="g"/>'
    )
    for t in nice_ticks(0.0, end, count=5, min_step=0.5):
        if t <= end + 1e-9:
            parts.append(f'<text x="{x(t):.1f}" y="{H - 12}" text-anchor="middle" class="a">{t:g} s</text>')
    for k, (label, p) in enumerate(pts):
        color = COLORS[k % len(COLORS)]
        runs: list[list[str]] = [[]]
        for t, v in p:
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(t):.1f},{y(v):.1f}")
        parts += [f'<polyline class="curve" data-set="{k}" points="{" ".join(r)}" fill="none"'
                  f' stroke="{color}" stroke-width="2"/>' for r in runs if len(r) > 1]  # fmt: skip
        lx = LEFT + 230 * k
        name = label if p else f"{label} (no curve)"
        parts.append(f'<line x1="{lx}" x2="{lx + 16}" y1="30" y2="30" stroke="{color}" stroke-width="3"/>'
                     f'<text x="{lx + 20}" y="34" class="a">{escape(name)}</text>')  # fmt: skip
    return "".join(parts) + "</svg>"
