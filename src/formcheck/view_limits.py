"""What each camera view cannot measure, and why: the reasons a report gives for "not measurable"."""

from __future__ import annotations

from .pelvis import TWO_LEG_REASON

FRONT_VIEW_REASON = (
    "camera at the feet: the shoulder-hip-knee line points at the lens, so its angle cannot be "
    "read from the picture; reps and tempo come from the hips' lift instead"
)
FRONT_SHIN_REASON = "camera at the feet: the shins point at the lens, so their tilt cannot be read"
FRONT_TEMPO_ONLY = (
    "tempo only: lockout and range need the hip angle, which cannot be read with the camera at the feet"
)
# codes that need the hip angle itself (not just the drive signal's timing)
ANGLE_CODES = ("incomplete_lockout", "overextension", "inconsistent_depth")
SIDE_ROLL_REASON = (
    "camera at the side: the two hips sit one behind the other along the lens, so a pelvic roll "
    "moves them mostly in depth, which the model barely resolves (a 12 deg roll moved the picture "
    "~2 px); film from the feet or at an angle (oblique) to check it"
)
KNEE_CAVE_REASON = (
    "camera not at the feet: the knees' sideways collapse runs along the lens from the side and is "
    "foreshortened at an angle; film from the feet to check it"
)
SINGLE_LEG_ROLL = (
    "single-leg: only a drop of the free side is judged; lifting the free leg pulls the model's "
    "hip point up, so a rise of that side cannot be told from the leg's lift"
)
OBLIQUE_TWO_LEG_ROLL = (
    "camera at an angle, both legs working: the model's pelvis roll is not steady enough here "
    "(a clean banded bench thrust filmed at 35 deg read 13-16 deg at every top, and a rendered "
    "10 deg roll read the same as the clean reps)"
)
KNEE_CAVE_RELATIVE = (
    "judged against the set's widest-kneed top: a set of one rep, or one that caves alike on every "
    "rep, has no clean rep to compare with"
)


FEET_OUT_UNJUDGED = (
    "feet too far out is not judged: the kickstand foot sits forward by design, and from the side "
    "the model cannot tell the two feet apart (a rendered B-stance read the working shin at 30 deg "
    "when it was vertical); feet too close still is"
)


FAR_LEG_VISIBILITY_GAP = 0.03
FAR_WORKING_LEG = (
    "the working leg is the far one, behind the raised leg: the model's reading of its shin is a "
    "guess (a rendered clip read a vertical shin at 31 deg); film from the working leg's side"
)
FAR_WORKING_LEG_DRIVE = (
    "the working leg is the far one, behind the raised leg: its hip angle jumps with the model's "
    "guess of the hidden knee, so a burst cannot be told from noise (a rendered drive peaking at "
    "1.9x its mean speed read 2.1-3.4x); film from the working leg's side"
)


def view_limits(view: str, single_leg: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Codes the camera view cannot measure at all, and ones it measures only in part."""
    not_measurable = {} if view == "front" else {"knee_cave": KNEE_CAVE_REASON}
    partly = {"knee_cave": KNEE_CAVE_RELATIVE} if view == "front" else {}
    if view == "side":
        not_measurable["hip_rotation"] = SIDE_ROLL_REASON
    elif view == "oblique" and not single_leg:
        not_measurable["hip_rotation"] = OBLIQUE_TWO_LEG_ROLL
    elif not single_leg:  # from the feet: the model's hip points did not follow a rendered roll
        not_measurable["hip_rotation"] = TWO_LEG_REASON
    else:
        partly["hip_rotation"] = SINGLE_LEG_ROLL
    return not_measurable, partly


LOAD_HIDES_HIP = (
    "camera at an angle with the load resting on the hips: the bar's plate (or the dumbbell) sits "
    "between the lens and the hip joint, and the model puts its hip point on the load (a barbell hip "
    "thrust filmed at ~30 deg read 135-137 deg at tops labelled 175-180, its hip points on the "
    "plate's hub); film from the side to judge the lockout"
)


MAY_BE_ANGLED = (
    "camera side-on or up to ~30 deg off it (the body's width against its length, {ratio:.2f}, lies"
    " where real side views and real 30 deg obliques both read, {low:.2f}-{high:.2f}) with the load"
    " resting on the hips: at such an angle the bar's plate (or the dumbbell) sits between the lens"
    " and the hip joint and the model puts its hip point on the load; film square from the side to"
    " judge the lockout"
)


def load_hides_hip(
    view: str, width_ratio: float, loaded: bool | None, angled_from_ratio: float, oblique_from_ratio: float
) -> str | None:
    """Why the lockout cannot be judged when a load rests on the hips (`loaded`, from the hands:
    posture.load_on_hips), or None. At an angle the load can hide the hip joint from the lens.
    Square from the side the plate is in line with the hip (the labelled barbell clip there, width
    ratio 0.18, reads its short tops as short); between `angled_from_ratio` and the oblique line the
    picture cannot tell a side view from a 30 deg oblique, so the load is taken to hide the hip there too."""
    if not loaded:
        return None
    if view == "oblique":
        return LOAD_HIDES_HIP
    if view == "side" and angled_from_ratio <= width_ratio < oblique_from_ratio:
        return MAY_BE_ANGLED.format(ratio=width_ratio, low=angled_from_ratio, high=oblique_from_ratio)
    return None
