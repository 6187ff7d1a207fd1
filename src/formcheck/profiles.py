"""Per-variant thresholds, kept as data (JSON files in formcheck/profiles/).

A profile names its parent with "extends"; sections are merged key by key, so a
variant file only states what differs from its parent. A path to a JSON file
can be given instead of a name, for a coach's own limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .kinematics import ViewConfig
from .reps import RepConfig
from .signal import SignalConfig

FAULT_CODES = (
    "incomplete_lockout",
    "hip_rotation",
    "overextension",
    "rushed_descent",
    "no_top_pause",
    "jerky_concentric",
    "inconsistent_depth",
    "knee_cave",
    "foot_placement",
    "fatigue_drift",
    "short_rest",
)
# judged on a whole set (or a set against the one before), not on one rep
SET_LEVEL_CODES = frozenset({"fatigue_drift", "short_rest"})


class ProfileError(ValueError):
    """A profile name or file that cannot be used."""


@dataclass(frozen=True)
class SetConfig:
    """How a clip splits into sets: a gap this long without reps is a rest between sets."""

    min_rest_s: float = 20.0
    compare_reps: int = 2  # the first rep of a set is compared with this many last reps of the one before
    # single-leg sets on both legs: the sides differ (an imbalance) beyond these
    side_top_diff_deg: float = 8.0
    side_range_diff_deg: float = 10.0
    side_tempo_ratio: float = 1.3


@dataclass(frozen=True)
class ScoringConfig:
    """0-100 scores: each fault code costs its points times its severity's factor."""

    fault_points: dict[str, float] = field(default_factory=dict)
    severity_factor: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    single_leg: bool
    model_hip_bias_deg: float
    signal: SignalConfig
    reps: RepConfig
    faults: dict[str, dict[str, Any]]
    rep_ranges: list[dict[str, Any]]
    view: ViewConfig = ViewConfig()
    sets: SetConfig = SetConfig()
    scoring: ScoringConfig = ScoringConfig()

    def fault(self, code: str) -> dict[str, Any]:
        return self.faults.get(code, {"enabled": False})


def _read_builtin(name: str) -> dict[str, Any] | None:
    res = resources.files("formcheck").joinpath("profiles", f"{name}.json")
    return json.loads(res.read_text(encoding="utf-8")) if res.is_file() else None


def builtin_names() -> list[str]:
    """Variant names (and aliases) that ship with formcheck, without the internal base."""
    names = []
    for res in resources.files("formcheck").joinpath("profiles").iterdir():
        if res.name.endswith(".json") and res.name != "base.json":
            data = json.loads(res.read_text(encoding="utf-8"))
            names += [data["name"], *data.get("aliases", [])]
    return sorted(names)


def _resolve(name: str) -> dict[str, Any]:
    data = _read_builtin(name)
    if data is not None:
        return data
    for variant in builtin_names():
        raw = _read_builtin(variant)
        if raw is not None and name in raw.get("aliases", []):
            return raw
    raise ProfileError(f"unknown variant {name!r}; known: {', '.join(builtin_names())}")


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(parent)
    for key, val in child.items():
        out[key] = _merge(out[key], val) if isinstance(val, dict) and isinstance(out.get(key), dict) else val
    return out


def _flatten(data: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    if depth > 8:
        raise ProfileError("profile 'extends' chain is too deep (a cycle?)")
    parent = data.get("extends")
    if not parent:
        return data
    return _merge(_flatten(_resolve(parent), depth + 1), {k: v for k, v in data.items() if k != "extends"})


def _config(cls: type, section: dict[str, Any], where: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(section) - known
    if unknown:
        raise ProfileError(f"profile section {where!r} has unknown keys: {', '.join(sorted(unknown))}")
    return cls(**section)


def load_profile(name_or_path: str) -> Profile:
    """A built-in variant by name or alias, or a JSON profile file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ProfileError(f"cannot read profile {path}: {exc}") from exc
    else:
        raw = _resolve(name_or_path)
    data = _flatten(raw)
    unknown_faults = set(data.get("faults", {})) - set(FAULT_CODES)
    if unknown_faults:
        raise ProfileError(f"profile has unknown fault codes: {', '.join(sorted(unknown_faults))}")
    scoring = _config(ScoringConfig, data.get("scoring", {}), "scoring")
    unknown_points = set(scoring.fault_points) - set(FAULT_CODES)
    if unknown_points:
        raise ProfileError(f"profile scoring has unknown fault codes: {', '.join(sorted(unknown_points))}")
    return Profile(
        name=data["name"],
        title=data.get("title", data["name"]),
        single_leg=bool(data.get("single_leg", False)),
        model_hip_bias_deg=float(data.get("model_hip_bias_deg", 0.0)),
        signal=_config(SignalConfig, data.get("signal", {}), "signal"),
        reps=_config(RepConfig, data.get("reps", {}), "reps"),
        faults=data.get("faults", {}),
        rep_ranges=data.get("rep_ranges", []),
        view=_config(ViewConfig, data.get("view", {}), "view"),
        sets=_config(SetConfig, data.get("sets", {}), "sets"),
        scoring=scoring,
    )
