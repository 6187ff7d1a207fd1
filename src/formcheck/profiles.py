"""Per-variant thresholds, kept as data (JSON files in formcheck/profiles/).

A profile names its parent with "extends"; sections are merged key by key, so a
variant file only states what differs from its parent. A path to a JSON file
can be given instead of a name, for a coach's own limits.

Every file is checked as it loads: a key the section does not have, or a value of the wrong
type, is refused with one line naming the file, the key's path and the keys allowed there;
after merging, a key no file in the chain gave (and that has no default) is refused the same way.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from .calibration import CalibrationModel
from .fault_rules import FAULT_CODES, RULES, SET_LEVEL_CODES, SEVERITIES, FaultRule
from .kinematics import ViewConfig
from .reps import RepConfig
from .signal import SignalConfig

__all__ = ["FAULT_CODES", "SET_LEVEL_CODES", "Profile", "ProfileError", "builtin_names", "load_profile"]

R = TypeVar("R", bound=FaultRule)


class ProfileError(ValueError):
    """A profile name or file that cannot be used."""


class UnknownVariant(ProfileError):
    """A name that is no built-in variant or alias."""


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

    # Annotated with the keys allowed: the profile check refuses any other
    fault_points: Annotated[dict[str, float], FAULT_CODES] = field(default_factory=dict)
    severity_factor: Annotated[dict[str, float], SEVERITIES] = field(default_factory=dict)


@dataclass(frozen=True)
class RepRange:
    """One of the guide's rep ranges (the profile keeps them as plain dicts with these keys)."""

    min: int
    max: int
    goal: str


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    single_leg: bool
    calibration: CalibrationModel
    signal: SignalConfig
    reps: RepConfig
    faults: dict[str, FaultRule]  # every fault code -> its typed rule
    rep_ranges: list[dict[str, Any]]
    view: ViewConfig = ViewConfig()
    sets: SetConfig = SetConfig()
    scoring: ScoringConfig = ScoringConfig()

    def fault(self, code: str) -> FaultRule:
        return self.faults[code]

    def rule(self, kind: type[R]) -> R:
        """The rule of one fault code, typed as its class (e.g. profile.rule(NoTopPauseRule))."""
        return cast(R, self.faults[kind.code])


# ---- the profile format: which keys each object may have, their types, which must be given


@dataclass(frozen=True)
class _Object:
    """A JSON object's keys and their types; `build` turns the checked values into the Python value."""

    types: dict[str, Any]
    required: frozenset[str]
    build: Callable[[dict[str, Any]], Any] = dict


@cache  # resolving the annotations is most of a load's time; the classes never change
def _object_of(cls: type) -> _Object:
    """A dataclass as a JSON object: its fields are the keys, those without a default must be given."""
    hints = get_type_hints(cls, include_extras=True)
    fs = fields(cls)
    required = frozenset(f.name for f in fs if f.default is MISSING and f.default_factory is MISSING)
    return _Object({f.name: hints[f.name] for f in fs}, required, lambda kw: cls(**kw))


_FAULTS = _Object(dict(RULES), frozenset(FAULT_CODES))
_TOP = _Object(
    {
        "name": str,
        "title": str,
        "extends": str,
        "aliases": list[str],
        "notes": list[str],
        "single_leg": bool,
        "calibration": CalibrationModel,
        "signal": SignalConfig,
        "reps": RepConfig,
        "faults": _FAULTS,
        "rep_ranges": list[RepRange],
        "view": ViewConfig,
        "sets": SetConfig,
        "scoring": ScoringConfig,
    },
    frozenset({"name", "faults"}),
)


class _Bad(Exception):
    """A problem at one key; `place` is the object it sits in and the keys allowed there."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.place: tuple[str, list[str]] | None = None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _wrong(path: str, expected: str, value: Any) -> _Bad:
    return _Bad(f"{path} must be {expected}, not {_show(value)}")


def _check_object(obj: _Object, value: Any, path: str, partial: bool) -> Any:
    if not isinstance(value, dict):
        raise _wrong(path or "the profile", _noun(dict), value)
    try:
        unknown = [k for k in value if k not in obj.types]
        if unknown:
            raise _Bad(f"unknown key {_join(path, unknown[0])}")
        missing = [] if partial else [k for k in obj.types if k in obj.required and k not in value]
        if missing:
            raise _Bad(f"missing key {_join(path, missing[0])}")
        out = {k: _check(obj.types[k], v, _join(path, k), partial) for k, v in value.items()}
    except _Bad as bad:
        bad.place = bad.place or (path, sorted(obj.types))
        raise
    return out if partial else obj.build(out)


def _check(tp: Any, value: Any, path: str, partial: bool) -> Any:
    """`value` (read from JSON) checked against the type `tp`, as that type; _Bad if it is not.

    partial: a file of an "extends" chain, which need not give every required key."""
    if isinstance(tp, _Object) or is_dataclass(tp):
        return _check_object(tp if isinstance(tp, _Object) else _object_of(tp), value, path, partial)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:  # a dict whose keys come from a fixed list
        allowed = _Object(dict.fromkeys(tp.__metadata__[0], get_args(args[0])[1]), frozenset())
        return _check_object(allowed, value, path, partial)
    if origin is Literal:
        if value not in args or not isinstance(value, str):
            raise _wrong(path, "one of " + ", ".join(json.dumps(a) for a in args), value)
        return value
    if origin in (Union, types.UnionType):  # X | None
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check(inner, value, path, partial)
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            raise _wrong(path, f"a list of {len(args)} {_noun(args[0], plural=True)}", value)
        items = enumerate(zip(args, value, strict=True))
        return tuple(_check(a, v, f"{path}[{i}]", partial) for i, (a, v) in items)
    if origin is list:
        if not isinstance(value, list):
            raise _wrong(path, f"a list of {_noun(args[0], plural=True)}", value)
        return [_check(args[0], v, f"{path}[{i}]", partial) for i, v in enumerate(value)]
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (bool, str) and isinstance(value, tp):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (float, bool, str, int):
        raise _wrong(path, _noun(tp), value)
    raise TypeError(f"the profile format has no rule for {tp!r} at {path}")


def _noun(tp: Any, plural: bool = False) -> str:
    nouns = {
        float: ("a number", "numbers"),
        int: ("a whole number", "whole numbers"),
        bool: ("true or false", "true/false values"),
        str: ("a string", "strings"),
        dict: ("an object {...}", "objects {...}"),
    }
    one, many = nouns[dict if is_dataclass(tp) or isinstance(tp, _Object) else tp]
    return many if plural else one


def _checked(data: Any, label: str, partial: bool) -> Any:
    try:
        return _check(_TOP, data, "", partial)
    except _Bad as bad:
        where, keys = bad.place or ("", sorted(_TOP.types))
        raise ProfileError(
            f"profile {label}: {bad.problem} (allowed in {where or 'a profile'}: {', '.join(keys)})"
        ) from None


# ---- reading and merging the files


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


def _resolve(name: str) -> tuple[dict[str, Any], str]:
    """A built-in profile's data by name or alias, and the file it came from."""
    data = _read_builtin(name)
    if data is not None:
        return data, f"formcheck/profiles/{name}.json"
    for variant in builtin_names():
        raw = _read_builtin(variant)
        if raw is not None and name in raw.get("aliases", []):
            return raw, f"formcheck/profiles/{variant}.json"
    raise UnknownVariant(f"unknown variant {name!r}; known: {', '.join(builtin_names())}")


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(parent)
    for key, val in child.items():
        out[key] = _merge(out[key], val) if isinstance(val, dict) and isinstance(out.get(key), dict) else val
    return out


def _flatten(data: dict[str, Any], label: str, depth: int = 0) -> dict[str, Any]:
    """The file's data over its parents', each file checked on its own first."""
    if depth > 8:
        raise ProfileError("profile 'extends' chain is too deep (a cycle?)")
    _checked(data, label, partial=True)
    parent = data.get("extends")
    if not parent:
        return data
    try:
        base = _builtin_chain(parent, depth + 1)
    except UnknownVariant as exc:
        raise ProfileError(f"profile {label}: extends {exc}") from None
    return _merge(base, {k: v for k, v in data.items() if k != "extends"})


@cache  # a built-in file and its parents, merged and checked: they do not change while formcheck runs
def _builtin_chain(name: str, depth: int = 0) -> dict[str, Any]:
    return _flatten(*_resolve(name), depth)


def load_profile(name_or_path: str) -> Profile:
    """A built-in variant by name or alias, or a JSON profile file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        return _builtin_profile(name_or_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from exc
    return _build(raw, str(path))


@cache  # the built-in files do not change while formcheck runs, and live loads one per update
def _builtin_profile(name: str) -> Profile:
    return _build(*_resolve(name))


def _build(raw: Any, label: str) -> Profile:
    data = _flatten(raw, label)
    extends = isinstance(raw, dict) and raw.get("extends")
    top = _checked(data, f"{label} (with what it extends)" if extends else label, partial=False)
    return Profile(
        name=top["name"],
        title=top.get("title", top["name"]),
        single_leg=top.get("single_leg", False),
        calibration=top.get("calibration", CalibrationModel()),
        signal=top.get("signal", SignalConfig()),
        reps=top.get("reps", RepConfig()),
        faults=top["faults"],
        rep_ranges=[asdict(r) for r in top.get("rep_ranges", [])],
        view=top.get("view", ViewConfig()),
        sets=top.get("sets", SetConfig()),
        scoring=top.get("scoring", ScoringConfig()),
    )
