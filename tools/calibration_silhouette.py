"""Candidate calibration features from the body's outline: how deep the chest and the pelvis look.

Usage: python tools/calibration_silhouette.py CLIP.mp4 ... --out FEATURES.json

The per-body part of the hip-angle error (docs/calibration.md) is where the model's hip and
shoulder points sit inside a body whose depth it never reports: the landmarks carry no thickness.
MediaPipe's pose landmarker can also return a person mask; this tool runs it (the bundled model,
segmentation on) on rendered clips that have their truth (NAME.json beside NAME.mp4), and at each
rendered top frame measures the outline's depth

- th_sh: across the trunk (normal to shoulder -> hip) through the model's shoulder point,
- th_hip: across the body (normal to shoulder -> knee) through the model's hip point,

each over the picture's shoulder-hip + hip-knee length, the clip's median over its top frames.
`calibration_table.py --silhouette FEATURES.json` adds them as offset candidates. A research tool:
the product's pose track keeps no mask, so nothing shipped reads these (see the docs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import map_coordinates

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from formcheck.kinematics import SIDES, angles_from_points  # noqa: E402

REACH_PX = 80.0  # how far either side of the point the outline is looked for
STEP_PX = 0.25


def _up_normal(u: np.ndarray) -> np.ndarray:
    """The unit normal of direction u that points up the picture (the belly's side at a top)."""
    n = np.array([-u[1], u[0]]) / np.linalg.norm(u)
    return n if n[1] < 0 else -n


def outline_extent(mask: np.ndarray, point: np.ndarray, along: np.ndarray) -> tuple[float, float]:
    """Signed distances (px) from `point` to the mask's two edges (its 0.5 level, interpolated)
    along the up-pointing normal of direction `along`; NaN when the point lies outside the mask."""
    n = _up_normal(np.asarray(along, float))
    t = np.arange(-REACH_PX, REACH_PX + STEP_PX / 2, STEP_PX)
    xy = np.asarray(point, float)[None, :] + t[:, None] * n[None, :]
    v = map_coordinates(np.asarray(mask, np.float32), [xy[:, 1], xy[:, 0]], order=1, cval=0.0)
    inside = v >= 0.5
    c = len(t) // 2
    if not inside[c]:
        return float("nan"), float("nan")
    outside = np.flatnonzero(~inside)
    hi = outside[outside > c].min() if np.any(outside > c) else None
    lo = outside[outside < c].max() if np.any(outside < c) else None

    def edge(i_out: int | None, step: int) -> float:  # the 0.5 crossing between i_out and its neighbour
        if i_out is None:
            return float(t[-1] if step > 0 else t[0])
        j = i_out - step  # the last inside sample
        return float(t[j] + (t[i_out] - t[j]) * (v[j] - 0.5) / (v[j] - v[i_out]))

    return edge(lo, -1), edge(hi, +1)


def depths(mask: np.ndarray, shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> dict[str, float]:
    """th_sh and th_hip of one frame (see the module doc), NaN where a point is off the outline."""
    length = np.linalg.norm(hip - shoulder) + np.linalg.norm(knee - hip)
    sh = outline_extent(mask, shoulder, hip - shoulder)
    hp = outline_extent(mask, hip, knee - shoulder)
    return {"th_sh": (sh[1] - sh[0]) / length, "th_hip": (hp[1] - hp[0]) / length}


def clip_depths(video: Path, model: Path, tops_within_deg: float = 4.0) -> dict[str, float]:
    """The clip's medians over its top frames: the rendered top phase when the truth NAME.json is
    beside the video, else (a real clip) the frames whose model hip angle lies within
    tops_within_deg of its 95th percentile, on the side whose hip the model sees better."""
    import cv2
    import mediapipe as mp

    truth_path = video.with_suffix(".json")
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else None
    opts = mp.tasks.vision.PoseLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(model)),
        running_mode=mp.tasks.vision.RunningMode.VIDEO,
        output_segmentation_masks=True,
    )
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    per_frame: list[dict] = []  # both sides' depths and hip angle, per detected frame
    with mp.tasks.vision.PoseLandmarker.create_from_options(opts) as landmarker:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            result = landmarker.detect_for_video(image, int(i * 1000 / fps))
            if result.pose_landmarks:
                h, w = frame.shape[:2]
                marks = result.pose_landmarks[0]
                pts = np.array([[p.x * w, p.y * h] for p in marks])
                mask = result.segmentation_masks[0].numpy_view().reshape(h, w)
                row: dict = {"i": i}
                for side, joints in SIDES.items():
                    four = pts[list(joints)]
                    row[side] = depths(mask, *four[:3])
                    row[side]["hip_deg"] = float(angles_from_points(four[None]).hip[0])
                    row[side]["vis"] = marks[joints[1]].visibility or 0.0
                per_frame.append(row)
            i += 1
    if truth is not None:
        side = truth["spec"]["near_side"]
        phase = truth["frames"]["phase"]
        chosen = [r for r in per_frame if r["i"] < len(phase) and phase[r["i"]] == "top"]
    else:
        side = max(SIDES, key=lambda s: np.mean([r[s]["vis"] for r in per_frame]))
        hip = np.array([r[side]["hip_deg"] for r in per_frame])
        top = np.nanpercentile(hip, 95) - tops_within_deg
        chosen = [r for r, a in zip(per_frame, hip, strict=True) if a >= top]
    out = {
        k: float(np.nanmedian([r[side][k] for r in chosen])) if chosen else float("nan")
        for k in ("th_sh", "th_hip")
    }
    return {**out, "side": side, "top_frames": len(chosen)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, required=True, help="JSON: {clip: {th_sh, th_hip}} (merged)")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "pose_landmarker_full.task")
    args = ap.parse_args(argv)
    out = json.loads(args.out.read_text()) if args.out.exists() else {}
    for video in args.videos:
        out[video.stem] = clip_depths(video, args.model)
        print(video.stem, json.dumps(out[video.stem]), flush=True)
        args.out.write_text(json.dumps(out, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
