"""`--variant auto`: tell a bench hip thrust from a floor bridge, and one leg from two.

Bench or floor comes from the trunk at the top of the reps: with the upper back on a bench the
shoulders sit level with the locked-out hips (trunk slope -18..+6 deg on every bench clip we
have, real and rendered), while with the shoulders on the floor the hips finish well above them
(+18..+35 deg). One leg or two comes from the knees: a leg held off the floor stays much
straighter than the planted one (kinematics.choose_side). From the feet the trunk's slope cannot
be read, so a front view keeps the bench default and says so.

A frog pump (soles together, knees dropped wide) is told by how wide the thighs open in the
picture seen from the feet. From the side the near knee hides the far one and the model reads
the knees about as close as a bridge's (a rendered frog pump's knees 3.9 hip widths apart read
1.4-1.6, the real one's 1.1; at 35 deg its thighs, truly 60 deg apart, read 7 in the picture and 18
in the world landmarks, as a bridge's do), so there a frog pump cannot be told from a glute
bridge: said so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .analysis import Analysis, analyze_track
from .kinematics import ViewConfig, unsigned_angle, width_ratio
from .profiles import Profile, load_profile
from .track import Landmark, PoseTrack

AUTO = "auto"
FLOOR_TOP_TORSO_DEG = 12.0  # trunk slope at the top above which the shoulders are on the floor
CONFIDENT_MARGIN_DEG = 6.0  # this far from the line counts as certain
# no top of a bench thrust or a floor bridge reads outside this (bench -29..+6 deg, floor +18..+35 on
# the labelled clips and renders): beyond it the trunk is misread (a portrait clip filmed from
# above the feet read a floor bridge's trunk at -75 deg), and bench or floor cannot be told
PLAUSIBLE_TOP_TORSO_DEG = (-45.0, 60.0)
# A frog pump seen from the feet: the thighs (hip -> knee in the picture) open at least this wide
# (median over the frames from the feet). Rendered with exact truth (tools/synth variant frog_pump,
# knee_out_deg; tools/synth/specs_frog): every bridge and thrust from the feet reads 35-41 deg, a
# floor bridge with the knees 15 deg out (truly 2.7 hip widths apart) 66, a frog pump with the knees
# 55 deg out 126; the line is the widest non-frog render plus 10%. Checked on a held-out render
# (sample_videos/frog_pump_front_clean, knees 35 deg out: 94) and the real clips: the frog pump
# reads 81, every other view from the feet 43-44. The knees' spread in hip widths does not separate
# them (the wide bridge 3.3, the real frog pump 3.4: the knees are nearer the lens than the hips,
# by more the closer the camera), nor do the model's world knees (2.5 and 2.4).
FROG_THIGHS_OPEN_DEG = 73.0
FROG_CONFIDENT_DEG = 10.0  # this far from the line (either way) counts as certain
FROG_MIN_SECONDS = 1.0  # of frames seen from the feet with both hips and knees found, to read them
FROG = "frog_pump"
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


def thighs_open_deg(track: PoseTrack, view: ViewConfig, min_visibility: float = 0.5) -> float:
    """The angle between the two thighs (hip -> knee) in the picture, median over the frames seen
    from the feet (each frame's own view: a clip may cut between cameras); NaN with under
    FROG_MIN_SECONDS of such frames."""
    image, vis = track.image, track.visibility
    joints = [Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE]
    left = image[:, joints[1], :2] - image[:, joints[0], :2]
    right = image[:, joints[3], :2] - image[:, joints[2], :2]
    angle = unsigned_angle(left, np.zeros_like(left), right)
    with np.errstate(invalid="ignore"):
        seen = (width_ratio(image) >= view.front_from_ratio) & (vis[:, joints].min(axis=1) >= min_visibility)
    seen &= np.isfinite(angle)
    span = float(np.median(np.diff(track.timestamps))) if len(track.timestamps) > 1 else 0.0
    if seen.sum() * span < FROG_MIN_SECONDS:
        return float("nan")
    return float(np.median(angle[seen]))


def guess_variant(first_pass: Analysis, thighs_deg: float = float("nan")) -> VariantGuess:
    """Variant from a first analysis under the bench profile: its reps' top trunk slope, the side
    choice it already made (one leg or two) and, seen from the feet, how wide the thighs open
    (thighs_open_deg: a frog pump's knees drop out wide)."""
    single = first_pass.side.single_leg
    legs = "one leg (one knee stays much straighter)" if single else "both legs (the knees bend alike)"
    front = first_pass.view.view == "front"
    readable = front and not single and np.isfinite(thighs_deg)
    line = f"a frog pump's from {FROG_THIGHS_OPEN_DEG:g}"
    if readable and thighs_deg >= FROG_THIGHS_OPEN_DEG:
        return VariantGuess(
            FROG,
            min(1.0, (thighs_deg - FROG_THIGHS_OPEN_DEG) / FROG_CONFIDENT_DEG),
            f"thighs {thighs_deg:.0f} deg apart seen from the feet ({line}): knees dropped wide, a "
            "frog pump; both legs",
        )
    if readable:
        frog = f"; not a frog pump (thighs {thighs_deg:.0f} deg apart seen from the feet, {line})"
    elif single:
        frog = ""
    elif front:
        frog = "; frog pump or not cannot be told (too few frames show both knees)"
    else:
        frog = ("; a frog pump cannot be told from a glute bridge here (only from the feet do the "
                "knees show how wide they drop): pass --variant frog_pump if so")
    tops = np.array([r.top_torso_deg for r in first_pass.reps], dtype=float)
    tops = tops[np.isfinite(tops)]
    if front or not len(tops):
        why = "camera at the feet" if front else "no rep to read the trunk at"
        return VariantGuess(
            NAMES[(False, single)],
            0.0,
            f"{legs}; bench or floor cannot be told ({why}), bench assumed: pass --variant if not{frog}",
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
        NAMES[(floor, single)],
        min(1.0, margin / CONFIDENT_MARGIN_DEG),
        f"{where}; {legs}{frog if floor else ''}",
    )


def analyze_variant(track: PoseTrack, variant: str = AUTO) -> tuple[Analysis, Profile, VariantGuess | None]:
    """Analyse under the named variant, or under the one `auto` detects (two cheap passes)."""
    if variant != AUTO:
        profile = load_profile(variant)
        return analyze_track(track, profile), profile, None
    bench = load_profile("hip_thrust")
    first = analyze_track(track, bench)
    guess = guess_variant(first, thighs_open_deg(track, bench.view))
    profile = bench if guess.name == bench.name else load_profile(guess.name)
    result = first if profile is bench else analyze_track(track, profile)
    return replace(result, variant_detected=guess.as_dict()), profile, guess
