"""Frame stride against rendered truth: a 60 fps render (tests/data/synth60, tools/synth) analysed at
the default stride (every 2nd frame) and with every frame, tempo and hip angles against the truth.

Phase times are compared with the rendered skeleton's exact hip angle labelled by the rule that
labels the real clips' phase truth (benchmarks/bench_phase_renders.py truth_reps: a boundary is where
the move is 5% of its amplitude from the plateau it leaves or reaches). The renderer's keyframes mark
where the eased motion starts and stops, ~18% of a minimum-jerk move outside that rule at either end
(a 0.81 s drive is 0.49 s by the rule), so they are not the reference for times any more.

Measured on this render (2 pose workers, this project's 2-core machine), then the tolerance:
                          stride 2   every frame   tolerance
  boundaries (rule)        0.042 s      0.049 s     0.10 s
  phases (rule)            0.041 s      0.049 s     0.10 s
  each rep's descent       0.041 s      0.028 s     0.10 s   (true 0.35 s keyframed, 0.217 s by the rule)
  top hip angle            0.9 deg      0.7 deg     5.5 deg  (visible hip line, the surface point)
  bottom hip angle         3.7 deg      3.1 deg     7.0 deg
  hip angle RMS            2.8 deg      2.5 deg     5.5 deg
  stride vs every frame: phase boundaries within 0.067 s, top and bottom angles within 0.8 deg.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "synth60" / "hip_thrust_side_rushed_descent_60fps.mp4"
sys.path.insert(0, str(ROOT / "tools" / "synth"))
from truth_compare import errors, load_truth  # noqa: E402

TOLERANCE = {"top_deg": 5.5, "bottom_deg": 7.0, "hip_rms_deg": 5.5}
PHASE_TOLERANCE_S = 0.10
DESCENT_TOLERANCE_S = 0.10
STRIDE_VS_EVERY_S = 0.10  # 3 analysed frames
STRIDE_VS_EVERY_DEG = 1.5


@cache
def analysed(every_frame: bool):
    from formcheck.analysis import analyze_track
    from formcheck.pose import extract_track
    from formcheck.profiles import load_profile

    track = extract_track(CLIP, workers=2, every_frame=every_frame)
    return track, analyze_track(track, load_profile("hip_thrust"))


@pytest.fixture(scope="module")
def truth():
    return load_truth(CLIP.with_suffix(".json"))


@pytest.fixture(scope="module")
def bench():
    path = ROOT / "benchmarks" / "bench_phase_renders.py"
    spec = importlib.util.spec_from_file_location("bench_phase_renders", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_render_is_60fps_with_truth(truth):
    from formcheck.io import probe

    info = probe(CLIP)
    assert info.fps == 60.0 and info.frame_count == truth["video"]["n_frames"] == 508
    assert CLIP.stat().st_size < 600_000


@pytest.mark.parametrize("every_frame", [False, True], ids=["stride", "every-frame"])
def test_tempo_and_angles_against_truth(truth, bench, every_frame):
    track, result = analysed(every_frame)
    assert track.meta["frame_stride"] == (1 if every_frame else 2)
    assert track.fps == (60.0 if every_frame else 30.0)
    err = errors(result, truth)
    assert err["reps"] == err["true_reps"] == 3
    for key, limit in TOLERANCE.items():
        assert err[key] <= limit, f"{key}: {err[key]:.3f} > {limit} ({err})"
    labelled = bench.truth_reps(truth)
    found = [{"rep": r.index, "drive_start": r.start_s, "top_reached": r.top_start_s,
              "descent_start": r.top_end_s, "bottom_reached": r.top_end_s + r.down_s, "end_s": r.end_s}
             for r in result.reps]
    assert len(labelled) == 3
    for true, rep in zip(labelled, found, strict=True):
        tm, fm = bench.measures(true), bench.measures(rep)
        for key in bench.NAMES:
            assert abs(fm[key] - tm[key]) <= PHASE_TOLERANCE_S, f"rep {rep['rep']} {key}: {fm[key]} {tm[key]}"
        assert fm["down"] == pytest.approx(tm["down"], abs=DESCENT_TOLERANCE_S)
    # the rushed lowering (0.35 s) is found on every rep at either rate
    rushed = sorted(f.rep for f in result.faults if f.code == "rushed_descent")
    assert rushed == [1, 2, 3]


def test_stride_reads_what_every_frame_reads():
    _, strided = analysed(False)
    _, every = analysed(True)
    assert len(strided.reps) == len(every.reps)
    for a, b in zip(strided.reps, every.reps, strict=True):
        times_a = np.array([a.start_s, a.top_start_s, a.top_end_s, a.end_s])
        times_b = np.array([b.start_s, b.top_start_s, b.top_end_s, b.end_s])
        assert np.abs(times_a - times_b).max() <= STRIDE_VS_EVERY_S
        assert a.top_hip_deg == pytest.approx(b.top_hip_deg, abs=STRIDE_VS_EVERY_DEG)
        assert a.bottom_hip_deg == pytest.approx(b.bottom_hip_deg, abs=STRIDE_VS_EVERY_DEG)
