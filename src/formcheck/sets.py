"""Sets within one clip: split at rests, mapped to the guide's rep ranges, and single-leg sides
compared. The checks of a whole set (fatigue drift, short rest) are in set_checks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .profiles import Profile, SetConfig
from .reps import Rep


@dataclass(frozen=True)
class TrainingSet:
    index: int
    reps: tuple[int, ...]  # rep numbers, as in Analysis.reps
    start_s: float
    end_s: float
    rest_before_s: float | None  # None for the clip's first set
    rep_range_goals: list[str]
    # first rep against the previous set's last reps: measure -> how much worse (deg, or time ratio)
    vs_previous: dict[str, float] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        return len(self.reps)


def rep_goals(count: int, ranges: list[dict[str, Any]]) -> list[str]:
    """The guide's rep-range goals this count falls in (ranges overlap, so maybe several)."""
    return [f"{r['min']}-{r['max']} reps: {r['goal']}" for r in ranges if r["min"] <= count <= r["max"]]


def split_sets(reps: list[Rep], cfg: SetConfig) -> list[list[Rep]]:
    """Consecutive reps, cut wherever the gap from one rep's end to the next one's start is a rest."""
    if not reps:
        return []
    gaps = np.array([b.start_s - a.end_s for a, b in zip(reps, reps[1:], strict=False)])
    switched = np.array([a.leg != b.leg for a, b in zip(reps, reps[1:], strict=False)], dtype=bool)
    cuts = np.flatnonzero((gaps >= cfg.min_rest_s) | switched) + 1  # single-leg: one set per side
    bounds = [0, *cuts.tolist(), len(reps)]
    return [reps[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def without_rests(reps: list[Rep], cfg: SetConfig) -> list[Rep]:
    """The last rep of a set has no bottom pause: what follows it is the rest, not part of the rep."""
    last = {g[-1].index for g in split_sets(reps, cfg)[:-1]}
    return [replace(r, bottom_pause_s=None) if r.index in last else r for r in reps]


def previous_set(groups: list[list[Rep]], i: int) -> list[Rep]:
    """The set before set i on the same leg (single-leg sides rest in turn), or [] for a first set."""
    return next((g for g in reversed(groups[:i]) if g[0].leg == groups[i][0].leg), [])


def build_sets(
    groups: list[list[Rep]], profile: Profile, vs_previous: list[dict[str, float]] | None = None
) -> list[TrainingSet]:
    """The sets with their rep-range goals and rest; `vs_previous` per set from set_checks.check_sets."""
    out: list[TrainingSet] = []
    for i, group in enumerate(groups):
        previous = previous_set(groups, i)
        out.append(
            TrainingSet(
                index=i + 1,
                reps=tuple(r.index for r in group),
                start_s=group[0].start_s,
                end_s=group[-1].end_s,
                rest_before_s=round(group[0].start_s - previous[-1].end_s, 2) if previous else None,
                rep_range_goals=rep_goals(len(group), profile.rep_ranges),
                vs_previous=vs_previous[i] if vs_previous else {},
            )
        )
    return out


def side_summary(reps: list[Rep]) -> dict[str, float | int | None]:
    """One leg's reps: count, median lockout, range and tempo."""

    def med(values: list[float | None]) -> float | None:
        v = np.array([np.nan if x is None else x for x in values], dtype=float)
        return round(float(np.nanmedian(v)), 2) if np.isfinite(v).any() else None

    return {
        "reps": len(reps),
        "top_hip_deg": med([r.top_hip_deg for r in reps]),
        "range_deg": med([r.top_hip_deg - r.bottom_hip_deg for r in reps]),
        "up_s": med([r.up_s for r in reps]),
        "down_s": med([r.down_s for r in reps]),
    }


def compare_sides(reps: list[Rep], cfg: SetConfig) -> dict[str, Any] | None:
    """Single-leg work on both legs: per side figures and where they differ beyond the profile's
    limits (lockout and range in degrees, tempo as a ratio). None unless both legs worked."""
    sides = {leg: [r for r in reps if r.leg == leg] for leg in ("left", "right")}
    if not all(sides.values()):
        return None
    summary = {leg: side_summary(rs) for leg, rs in sides.items()}
    left, right = summary["left"], summary["right"]
    imbalances = []
    for key, limit, label in (
        ("top_hip_deg", cfg.side_top_diff_deg, "lockout"),
        ("range_deg", cfg.side_range_diff_deg, "range"),
    ):
        a, b = left[key], right[key]
        if a is not None and b is not None and abs(a - b) > limit:
            weaker = "left" if a < b else "right"
            imbalances.append(f"{label}: {weaker} side {abs(a - b):.0f} deg less (limit {limit:g})")
    for key, label in (("up_s", "drive"), ("down_s", "descent")):
        a, b = left[key], right[key]
        ratio = max(a, b) / min(a, b) if a and b else 1.0
        if ratio > cfg.side_tempo_ratio:
            slower = "left" if a > b else "right"
            limit = cfg.side_tempo_ratio
            imbalances.append(f"{label}: {slower} side {ratio:.2f}x as long (limit {limit:g}x)")
    return {**summary, "imbalances": imbalances}
