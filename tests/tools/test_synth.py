"""The synthetic-clip generator: schedule, geometry and ground truth (no Blender needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

SYNTH = Path(__file__).resolve().parents[2] / "tools" / "synth"
sys.path.insert(0, str(SYNTH))

from motion import build_schedule, signed_hip_angle, swing, two_bone_ik  # noqa: E402
from spec import Fault, Spec, load_spec  # noqa: E402

DATA = Path(os.environ.get("FORMCHECK_SYNTH_DATA", Path.home() / ".cache" / "formcheck-synth" / "mpfb2"))


def steady(**kw) -> Spec:
    return Spec(tempo_jitter=0.0, **kw)


def test_schedule_has_the_prescribed_reps_and_tempo():
    spec = steady(reps=3, up_s=1.0, top_pause_s=0.5, down_s=2.0, bottom_pause_s=0.25, fps=50)
    sched = build_schedule(spec, rest_angle=90.0)
    assert [r["rep"] for r in sched.reps] == [1, 2, 3]
    for r in sched.reps:
        tempo = {k: v[1] - v[0] for k, v in r["phases"].items()}
        assert tempo["up"] == pytest.approx(1.0)
        assert tempo["top"] == pytest.approx(0.5)
        assert tempo["down"] == pytest.approx(2.0)
    # consecutive reps abut: the next rep starts when the bottom pause ends
    for a, b in zip(sched.reps, sched.reps[1:], strict=False):
        assert b["start"] == pytest.approx(a["phases"]["bottom"][1])
    during = ~np.isnan(sched.theta)
    assert np.nanmax(sched.theta) == pytest.approx(180.0, abs=0.05)
    assert np.nanmin(sched.theta[during]) == pytest.approx(spec.bottom_deg, abs=0.05)
    assert sched.phase[0] == "setup" and np.isnan(sched.theta[0])


def test_faults_land_on_the_reps_they_name():
    spec = steady(
        reps=4,
        fps=50,
        faults=[
            Fault("short_lockout", degrees=15, reps=[2]),
            Fault("rushed_descent", seconds=0.3, reps=[3]),
            Fault("no_top_pause", reps=[4]),
            Fault("pelvic_roll", degrees=10, reps=[1]),
        ],
    )
    sched = build_schedule(spec, rest_angle=120.0)
    tops = [r["prescribed_top_deg"] for r in sched.reps]
    assert tops == [180.0, 165.0, 180.0, 180.0]
    down = [r["phases"]["down"][1] - r["phases"]["down"][0] for r in sched.reps]
    assert down[2] == pytest.approx(0.3) and min(down[0], down[1], down[3]) > 1.0
    assert sched.reps[3]["phases"]["top"][1] == pytest.approx(sched.reps[3]["phases"]["top"][0])
    assert [bool(r["faults"]) for r in sched.reps] == [True, True, True, True]
    assert sched.roll[sched.rep == 1].max() == pytest.approx(10.0, abs=0.1)
    assert sched.roll[sched.rep > 1].max() == 0.0


def test_inconsistent_depth_spreads_the_bottoms():
    spec = steady(reps=5, fps=50, faults=[Fault("inconsistent_depth", degrees=20)])
    sched = build_schedule(spec, rest_angle=100.0)
    bottoms = [r["prescribed_bottom_deg"] for r in sched.reps]
    assert max(bottoms) - min(bottoms) == pytest.approx(20.0)


def test_settle_holds_the_first_bottom_still_before_rep_1():
    plain = steady(reps=2, fps=60, lead_in_s=0.6)
    settled = steady(reps=2, fps=60, lead_in_s=0.6, settle_s=0.5)
    a, b = build_schedule(plain, rest_angle=90.0), build_schedule(settled, rest_angle=90.0)
    # without a settle the set-up runs straight into the drive
    assert a.reps[0]["phases"]["up"][0] == pytest.approx(0.6)
    assert b.reps[0]["phases"]["up"][0] == pytest.approx(1.1)
    still = (b.t >= 0.6) & (b.t < 1.1)
    assert still.sum() == 30
    assert np.all(b.theta[still] == b.reps[0]["prescribed_bottom_deg"])
    assert {b.phase[i] for i in np.flatnonzero(still)} == {"rest"} and not b.rep[still].any()
    # the set-up itself and everything after the settle are the unsettled schedule, shifted
    assert np.array_equal(b.setup[b.t < 0.6], a.setup[a.t < 0.6])
    assert np.allclose(b.theta[b.t >= 1.1], a.theta[a.t >= 0.6], atol=1e-9)
    for ra, rb in zip(a.reps, b.reps, strict=True):
        for k, (start, end) in ra["phases"].items():
            assert rb["phases"][k] == pytest.approx([start + 0.5, end + 0.5])


def test_spec_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        Spec(variant="deadlift")
    with pytest.raises(ValueError, match="fault"):
        Spec(faults=[{"type": "wobble"}])
    bad = tmp_path / "x.toml"
    bad.write_text('variant = "hip_thrust"\nrepz = 3\n')
    with pytest.raises(ValueError, match="repz"):
        load_spec(bad)


def test_committed_specs_load():
    specs = [load_spec(p) for p in sorted((SYNTH / "specs").glob("*.toml"))]
    assert len(specs) >= 10
    assert {s.view for s in specs} == {"side", "front", "oblique"}


def test_signed_hip_angle_is_signed():
    left = np.array([0.0, 1, 0])
    shoulder, knee = np.array([-1.0, 0, 0]), np.array([1.0, 0, 0])
    assert signed_hip_angle(shoulder, np.zeros(3), knee, left) == pytest.approx(180.0)
    sag = signed_hip_angle(shoulder, np.array([0, 0, -0.2]), knee, left)
    arch = signed_hip_angle(shoulder, np.array([0, 0, 0.2]), knee, left)
    assert sag < 180 < arch
    assert sag + arch == pytest.approx(360.0)


def test_two_bone_ik_keeps_lengths_and_reaches():
    hip, ankle = np.array([0.0, 0, 0.5]), np.array([0.6, 0, 0.07])
    knee = two_bone_ik(hip, ankle, 0.42, 0.40, pole=np.array([0.0, 0, 1]))
    assert np.linalg.norm(knee - hip) == pytest.approx(0.42)
    assert np.linalg.norm(ankle - knee) == pytest.approx(0.40)
    assert knee[2] > max(hip[2], ankle[2]) - 0.1  # bends toward the pole (up)


def test_swing_maps_direction():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=3), rng.normal(size=3)
        r = swing(a, b)
        assert np.allclose(r @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-9)
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-9)


@pytest.fixture(scope="module")
def body():
    if not (DATA / "3dobjs" / "base.obj").exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"MPFB2 body data missing at {DATA}: .ci/run installs it (tools/synth/setup.sh)")
        pytest.skip("MPFB2 body data not installed (tools/synth/setup.sh --data-only)")
    from body import load_body

    return load_body(DATA, sex=0.0, height_m=1.70, mass_kg=64)


@pytest.mark.parametrize(
    ("variant", "extra"),
    [
        ("glute_bridge", []),
        ("single_leg_hip_thrust", []),
        ("b_stance_hip_thrust", []),
        ("feet_elevated_glute_bridge", [Fault("knee_cave", degrees=14)]),
        ("single_leg_glute_bridge", [Fault("pelvic_roll", degrees=12)]),
        ("frog_pump", []),
    ],
)
def test_ground_truth_matches_the_prescription(body, variant, extra):
    from clip import make_clip, project

    faults = [Fault("short_lockout", degrees=12, reps=[2]), *extra]
    spec = Spec(variant=variant, reps=2, fps=15, faults=faults)
    verts, scene, truth = make_clip(body, spec)
    frames = truth["frames"]
    n = truth["video"]["n_frames"]
    assert verts.shape == (n, len(body.rest), 3) and len(frames["t"]) == n
    side = spec.working_leg  # the prescribed angle holds on the working leg (both, when both work)
    measured = np.asarray(frames[f"hip_angle_deg_{side}"])
    prescribed = np.array([np.nan if x is None else x for x in frames["prescribed_hip_angle_deg"]])
    rep_frames = ~np.isnan(prescribed)
    # the pose is solved so the body shows exactly the prescribed angle
    assert np.max(np.abs(measured[rep_frames] - prescribed[rep_frames])) < 1.0
    tops = [r[f"top_hip_angle_deg_{side}"] for r in truth["reps"]]
    assert tops[0] == pytest.approx(180, abs=1.0) and tops[1] == pytest.approx(168, abs=1.0)
    # bones keep their length and the working foot stays planted through the reps
    j3 = {k: np.asarray(v) for k, v in frames["joints3d"].items()}
    thigh = np.linalg.norm(j3[f"{side}_knee"] - j3[f"{side}_hip"], axis=1)
    assert np.ptp(thigh) < 2e-3
    ankle = j3[f"{side}_ankle"][rep_frames]
    assert np.ptp(ankle, axis=0).max() < 2e-3
    # the body stays above the floor (a few cm of soft-tissue overlap at most)
    assert verts[:, :, 2].min() > -0.04
    # the 2D ground truth is the 3D ground truth seen through the stored camera
    uv = project(j3[f"{side}_hip"], truth["camera"])
    assert np.allclose(uv, np.asarray(frames["joints2d"][f"{side}_hip"]), atol=0.05)
    inside = (uv[:, 0] > 0) & (uv[:, 0] < spec.width) & (uv[:, 1] > 0) & (uv[:, 1] < spec.height)
    assert inside.all()


@pytest.mark.parametrize(("variant", "out", "knees", "ankles"), [
    ("frog_pump", None, (3.3, 5.0), (0.5, 0.9)),  # soles together, knees dropped wide
    ("glute_bridge", 15.0, (1.4, 2.2), (1.15, 1.5)),  # a bridge with the knees a little wide
    ("glute_bridge", 0.0, (1.05, 1.3), (1.15, 1.5)),
])  # fmt: skip
def test_the_knees_fall_out_by_knee_out_deg_and_the_truth_measures_it(body, variant, out, knees, ankles):
    from clip import make_clip

    spec = Spec(variant=variant, knee_out_deg=out, reps=1, fps=10, tempo_jitter=0.0)
    _, _, truth = make_clip(body, spec)
    frames = truth["frames"]
    reps = np.asarray(frames["rep"]) > 0
    spread = np.asarray(frames["knee_spread_hip_widths"])[reps]
    names = ("left_knee", "right_knee", "left_hip", "right_hip")
    j3 = {k: np.asarray(frames["joints3d"][k])[reps] for k in names}
    width = np.linalg.norm(j3["left_hip"] - j3["right_hip"], axis=1)
    # (the truth rounds joints to 0.1 mm and the spread to 0.001)
    assert np.allclose(spread, np.linalg.norm(j3["left_knee"] - j3["right_knee"], axis=1) / width, atol=3e-3)
    assert knees[0] < spread.min() and spread.max() < knees[1]
    feet = np.asarray(frames["ankle_spread_hip_widths"])[reps]
    assert ankles[0] < feet.min() and feet.max() < ankles[1]
    assert spec.on_floor and not truth["spec"]["faults"]


def test_glute_bridge_lead_in_lies_flat_first(body):
    from clip import make_clip

    _, _, truth = make_clip(body, Spec(variant="glute_bridge", reps=1, fps=10))
    first = truth["frames"]["hip_angle_deg_left"][0]
    # lying flat with legs out reads like a lockout: the case a rep counter must not count
    assert first == pytest.approx(180, abs=8)
    assert truth["frames"]["phase"][0] == "setup"


def test_posture_mistakes_land_on_their_reps_with_exact_truth(body):
    """head_back, load_drift and leaning_back (mistakes.py): each on its own rep, the hip angle
    still as prescribed, the bar in the hands and its measured offset in the truth."""
    from clip import make_clip

    faults = [Fault("head_back", degrees=40, reps=[1]), Fault("load_drift", cm=-15, reps=[2]),
              Fault("leaning_back", cm=15, reps=[3])]
    spec = Spec(variant="hip_thrust", reps=3, fps=10, loaded=True, tempo_jitter=0.0, faults=faults)
    verts, scene, truth = make_clip(body, spec)
    f = truth["frames"]
    phase, rep = np.asarray(f["phase"]), np.asarray(f["rep"])
    top = {r: (phase == "top") & (rep == r) for r in (1, 2, 3)}
    for key, r, amount in (("head_back_deg", 1, 40), ("load_drift_cm", 2, -15), ("back_slide_cm", 3, 15)):
        series = np.asarray(f[key])
        assert np.allclose(series[top[r]], amount) and np.allclose(series[rep != r], 0.0), key
    assert [x["faults"][0]["type"] for x in truth["reps"]] == ["head_back", "load_drift", "leaning_back"]
    assert truth["reps"][1]["faults"][0]["cm"] == -15
    # the hip angle is what was prescribed on every rep, leaning or not
    assert [x["top_hip_angle_deg_left"] for x in truth["reps"]] == pytest.approx([180, 180, 180], abs=1.0)
    # the bar rides on the hip crease, drifting its 15 cm toward the belly on rep 2 only (the hands
    # hold it where they reach: toward the knees the arms run out of length within a few cm)
    offset = np.asarray(f["load_offset_cm"], dtype=float)
    clean = offset[top[1] | top[3]]
    assert np.ptp(clean) < 1.0
    assert np.median(offset[top[2]]) - np.median(clean) == pytest.approx(-15, abs=1.5)
    # the hands hold the bar: each wrist within a few cm of the bar's line
    j3 = {k: np.asarray(v) for k, v in f["joints3d"].items()}
    bars = np.asarray(scene["bars"])
    assert bars.shape == (len(f["t"]), 2, 3)
    for side in ("left", "right"):
        a, b = bars[:, 0], bars[:, 1]
        d = np.cross(j3[f"{side}_wrist"] - a, b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
        assert np.linalg.norm(d, axis=1).max() < 0.06, side
    # leaning back: the shoulders travel head-ward (-x) at the top of rep 3, not on the clean reps
    sx = j3["left_shoulder"][:, 0]
    assert np.median(sx[top[1]]) - np.median(sx[top[3]]) > 0.12


def test_harrington_hip_centres_follow_the_regression_in_the_pelvis_frame():
    from body import harrington_hip_centres

    # a pelvis facing -y (the rest pose), z up, left toward +x: ASIS 24 cm apart, PSIS 16 cm behind
    rest = np.array([[0.12, -0.10, 1.0], [-0.12, -0.10, 1.0], [0.04, 0.06, 1.0], [-0.04, 0.06, 1.0]])
    markers = {"left_asis": 0, "right_asis": 1, "left_psis": 2, "right_psis": 3}
    centres = harrington_hip_centres(rest, markers)
    width, depth = 240.0, 160.0  # mm
    back = (0.24 * depth + 9.9) / 1000  # behind the mid-ASIS
    down = (0.30 * width + 10.9) / 1000
    out = (0.33 * width + 7.3) / 1000
    assert np.allclose(centres["left"], [out, -0.10 + back, 1.0 - down], atol=1e-9)
    assert np.allclose(centres["right"], [-out, -0.10 + back, 1.0 - down], atol=1e-9)
    # the frame turns with the pelvis: rotate the markers, the centres rotate with them
    turn = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    moved = harrington_hip_centres(rest @ turn.T, markers)
    assert np.allclose(moved["left"], turn @ centres["left"], atol=1e-9)


def test_pelvic_markers_are_the_picks_on_the_average_body(body):  # body: the data is there
    from body import PELVIC_MARKERS, load_body, pick_pelvic_markers

    average = load_body(DATA, sex=0.5, height_m=1.70, mass_kg=65)
    assert pick_pelvic_markers(average.rest, average.head("thigh_l")[2]) == PELVIC_MARKERS


def test_the_anatomical_hip_centre_sits_where_anatomy_puts_it_and_specs_can_pose_on_it(body):
    """The rig's thigh head is 4-5 cm deeper than a hip joint centre; Harrington's centre lies
    5-8 cm behind the front of the groin, as the femoral head does."""
    from clip import make_clip

    centre, rig = body.hip_centres["left"], body.head("thigh_l")
    assert 0.03 < rig[1] - centre[1] < 0.06  # anterior is -y
    v = body.rest
    slab = (np.abs(v[:, 2] - centre[2]) < 0.015) & (np.abs(v[:, 0] - centre[0]) < 0.02)
    assert 0.05 < centre[1] - v[slab, 1].min() < 0.08
    spec = Spec(variant="hip_thrust", reps=2, fps=15, hip_centre="harrington",
                faults=[Fault("short_lockout", degrees=10, reps=[2])])
    _, _, truth = make_clip(body, spec)
    frames = truth["frames"]
    prescribed = np.array([np.nan if x is None else x for x in frames["prescribed_hip_angle_deg"]])
    reps = ~np.isnan(prescribed)
    anatomical = np.asarray(frames["hip_angle_anatomical_deg_left"])
    assert np.max(np.abs(anatomical[reps] - prescribed[reps])) < 1.0
    assert np.allclose(frames["hip_angle_deg_left"], anatomical)
    tops = [(r["top_hip_angle_deg_left"], r["top_hip_angle_rig_deg_left"]) for r in truth["reps"]]
    assert tops[0][0] == pytest.approx(180, abs=1.0) and tops[1][0] == pytest.approx(170, abs=1.0)
    assert all(rig < anat - 5 for anat, rig in tops)  # the rig's head reads the same pose sagging
    j3 = {k: np.asarray(v) for k, v in frames["joints3d"].items()}
    assert np.ptp(np.linalg.norm(j3["left_knee"] - j3["left_hip_rig"], axis=1)) < 2e-3
