"""`--variant auto`: tell a bench hip thrust from a floor bridge, and one leg from two.

Bench or floor comes from the trunk at the top of the reps: with the upper back on a bench the
shoulders sit level with the locked-out hips (trunk slope -18..+6 deg on every bench clip we
have, real and rendered), while with the shoulders on the floor the hips finish well above them
(+18..+35 deg). One leg or two comes from the knees: a leg held off the floor stays much
straighter than the planted one (kinematics.choose_side). From the feet the trunk's slope cannot
be read, so a front view keeps the bench default and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .analysis import Analysis, analyze_track
from .profiles import Profile, load_profile
from .track import PoseTrack

AUTO = "auto"
FLOOR_TOP_TORSO_DEG = 12.0  # trunk slope at the top above which the shoulders are on the floor
CONFIDENT_MARGIN_DEG = 6.0  # this far from the line counts as certain
# no top of a bench thrust or a floor bridge reads outside this (bench -29..+6 deg, floor +18..+35 on
# the labelled clips and renders): beyond it the trunk is misread (a portrait clip filmed from
# above the feet read a floor bridge's trunk at -75 deg), and bench or floor cannot be told
PLAUSIBLE_TOP_TORSO_DEG = (-45.0, 60.0)
NAMES = {
    (False, False): "hip_thrust",
    (True, False): "glute_bridge",
    (False, True): "single_leg_hip_thrust",
    (True, True): "single_leg_glute_bridge",
}


@dataclass(frozen=True)
class VariantGuess:
    name: str
    confidence: float  # 0..1
    reason: str

    def as_dict(self) -> dict:
        return {"name": self.name, "confidence": round(self.confidence, 2), "reason": self.reason}


def guess_variant(first_pass: Analysis) -> VariantGuess:
    """Variant from a first analysis under the bench profile: its reps' top trunk slope, and the
    side choice it already made (one leg or two)."""
    single = first_pass.side.single_leg
    legs = "one leg (one knee stays much straighter)" if single else "both legs (the knees bend alike)"
    tops = np.array([r.top_torso_deg for r in first_pass.reps], dtype=float)
    tops = tops[np.isfinite(tops)]
    if first_pass.view.view == "front" or not len(tops):
        why = "camera at the feet" if first_pass.view.view == "front" else "no rep to read the trunk at"
        return VariantGuess(
            NAMES[(False, single)],
            0.0,
            f"{legs}; bench or floor cannot be told ({why}), bench assumed: pass --variant if not",
        )
    slope = float(np.median(tops))
    if not PLAUSIBLE_TOP_TORSO_DEG[0] <= slope <= PLAUSIBLE_TOP_TORSO_DEG[1]:
        return VariantGuess(
            NAMES[(False, single)],
            0.0,
            f"{legs}; bench or floor cannot be told (the trunk reads {slope:+.0f} deg from level at the "
            "top, which neither shows: the view distorts it), bench assumed: pass --variant if not",
        )
    floor = slope > FLOOR_TOP_TORSO_DEG
    margin = abs(slope - FLOOR_TOP_TORSO_DEG)
    where = (
        f"shoulders on the floor (hips {slope:.0f} deg above them at the top)"
        if floor
        else f"upper back on a bench (trunk {slope:+.0f} deg from level at the top)"
    )
    return VariantGuess(
        NAMES[(floor, single)], min(1.0, margin / CONFIDENT_MARGIN_DEG), f"{where}; {legs}"
    )


def analyze_variant(track: PoseTrack, variant: str = AUTO) -> tuple[Analysis, Profile, VariantGuess | None]:
    """Analyse under the named variant, or under the one `auto` detects (two cheap passes)."""
    if variant != AUTO:
        profile = load_profile(variant)
        return analyze_track(track, profile), profile, None
    bench = load_profile("hip_thrust")
    first = analyze_track(track, bench)
    guess = guess_variant(first)
    profile = bench if guess.name == bench.name else load_profile(guess.name)
    result = first if profile is bench else analyze_track(track, profile)
    return replace(result, variant_detected=guess.as_dict()), profile, guess
