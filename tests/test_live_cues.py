"""The cue rules (formcheck.live.cues), pinned so that loosening them fails a test.

The limits are written out here on purpose, not read from the module: a test that compared
the policy with its own constant would stay green if the constant were set to 0.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from formcheck.findings import Fault
from formcheck.live.cues import CuePolicy
from formcheck.live.online import LiveRep, Verdict
from formcheck.live.setup import Advice, SetupStatus
from formcheck.profiles import load_profile

QUIET_REPS = 3  # a fault said on rep n is not said again on reps n+1 .. n+3
SETUP_GAP_S = 4.0  # at most one spoken setup line this often
SETUP_STEADY_S = 1.0  # advice is said only once it has held this long
CODES = ("incomplete_lockout", "no_top_pause", "rushed_descent", "overextension")


def _fault(code: str, rep: int, severity: str = "moderate") -> Fault:
    cue = load_profile("hip_thrust").fault(code).guide.cue
    return Fault(code, severity, rep, 0.0, 1.0, 0.0, 0.0, "s", "<", "", "", "", cue=cue, reps=(rep,))


def _verdict(number: int, codes: tuple[str, ...], severities: dict[str, str] | None = None) -> Verdict:
    faults = tuple(_fault(c, number, (severities or {}).get(c, "moderate")) for c in codes)
    return Verdict(LiveRep(number, number - 1.0, float(number), True, codes, faults), codes, True)


def _spoken_faults(policy: CuePolicy, reps: list[tuple[str, ...]]) -> list[tuple[int, str]]:
    said = []
    for n, codes in enumerate(reps, start=1):
        for cue in policy.on_verdict(_verdict(n, codes), float(n)):
            if cue.kind == "fault":
                assert cue.speak and cue.code in codes
                said.append((n, cue.code))
            elif codes:  # a fault not said is still shown on its rep
                assert cue.kind == "repeat" and not cue.speak and cue.rep == n
    return said


def test_a_fault_on_every_rep_is_said_once_every_four_reps():
    said = _spoken_faults(CuePolicy(), [("no_top_pause",)] * 12)
    assert said == [(1, "no_top_pause"), (5, "no_top_pause"), (9, "no_top_pause")]


@pytest.mark.parametrize("seed", range(5))
def test_no_fault_is_said_again_within_its_limit_whatever_the_reps(seed):
    rng = random.Random(seed)
    reps = [tuple(c for c in CODES if rng.random() < 0.45) for _ in range(40)]
    said = dict(_spoken_faults(CuePolicy(), reps))  # at most one fault said per rep
    last: dict[str, int] = {}
    for n, codes in enumerate(reps, start=1):
        due = [c for c in codes if c not in last or n - last[c] > QUIET_REPS]
        if n in said:
            code = said[n]
            assert code not in last or n - last[code] > QUIET_REPS, f"{code}: reps {last[code]} and {n}"
            last[code] = n
        # and the limit is not a gag: a fault not said lately is said
        assert (n in said) == bool(due), f"rep {n}: {codes}, due {due}, said {said.get(n)}"


def test_a_correction_is_said_even_for_a_fault_said_lately():
    policy = CuePolicy()
    policy.on_verdict(_verdict(1, ("inconsistent_depth",)), 1.0)
    rep = _verdict(2, ()).rep
    assert [c.kind for c in policy.on_verdict(Verdict(rep, (), True), 2.0)] == ["better"]
    depth = ("inconsistent_depth",)
    changed = dataclasses.replace(rep, codes=depth, faults=(_fault("inconsistent_depth", 2),))
    (cue,) = policy.on_verdict(Verdict(changed, ("inconsistent_depth",), False), 3.0)
    assert cue.kind == "correction" and cue.speak and cue.rep == 2 and "rep 2" in cue.text.lower()


def _status(text: str | None, blocking: bool = True) -> SetupStatus:
    advice = (Advice("out_of_frame", text, blocking),) if text else ()
    return SetupStatus(advice, False, 0.0, False, None, None, "side")


def _said_setup(policy: CuePolicy, timeline: list[tuple[float, str | None]], step: float = 0.1) -> list:
    said = []
    for t, text in timeline:
        said += [(round(t, 2), c.detail) for c in policy.on_setup(_status(text), t) if c.kind == "setup"]
    return said


def _timeline(texts: list[str | None], each_s: float, step: float = 0.1) -> list[tuple[float, str | None]]:
    per = int(round(each_s / step))
    return [(i * step, texts[(i // per) % len(texts)]) for i in range(per * len(texts) * 4)]


def test_setup_advice_is_not_said_faster_than_its_gap():
    # two problems in turn, each held 1.5 s: each is steady, so only the gap holds them back
    said = _said_setup(CuePolicy(), _timeline(["Move back: A", "Move back: B"], 1.5))
    times = [t for t, _ in said]
    assert len(said) >= 3, said  # and they are said
    assert all(b - a >= SETUP_GAP_S - 1e-6 for a, b in zip(times, times[1:], strict=False)), times


def test_setup_advice_waits_until_it_has_held_and_is_not_repeated_while_it_holds():
    said = _said_setup(CuePolicy(), _timeline(["Flicker: A", "Flicker: B"], 0.5))
    assert said == []  # never held for a second
    policy = CuePolicy()
    said = _said_setup(policy, [(i * 0.1, "Move back: A") for i in range(200)])
    assert said == [(SETUP_STEADY_S, "Move back: A")]  # once, after holding, however long it lasts
