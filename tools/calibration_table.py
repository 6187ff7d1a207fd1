"""The hip-angle calibration against rendered truth: per body and view, true vs shown vs raw.

Usage: python tools/calibration_table.py [--renders DIR ...] [--tracks DIR] [--fit NAME ...]
                                         [--markdown] [--refit]

Every NAME.json (schema formcheck.synth-truth/1) in the render folders whose pose track NAME.npz
is in --tracks (make one with `formcheck analyze NAME.mp4 --save-track TRACKS/NAME.npz`) is run
through the analysis with its variant's built-in profile. Each analysed rep is matched to the
rendered rep whose top hold it covers; the true top is the joint angle (shoulder - hip joint
centre - knee) on the hip point the clip was posed on (`--hip-centre` picks the anatomical or the
rig's one from truth files that carry both). --fit names the bodies (clip-name prefixes) the
calibration was fitted on: they are marked "fit", every other clip "held-out". --refit prints the
least-squares coefficients for the profile's "calibration" block from the --fit clips only
(raw - 180 = offset + gain x (true - 180), offset linear in the clip's features; slope = 1 / gain).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from formcheck.analysis import analyze_track  # noqa: E402
from formcheck.calibration import FEATURES as CLIP_FEATURES  # noqa: E402
from formcheck.calibration import CalibrationModel, calibrate  # noqa: E402
from formcheck.kinematics import angles_from_points, side_points  # noqa: E402
from formcheck.pose import load_track  # noqa: E402
from formcheck.profiles import load_profile  # noqa: E402
from formcheck.track import Landmark  # noqa: E402

TOLERANCE_DEG = 3.0
NEAR_LINE_DEG = 15.0  # tops this close to 180 are what the fit and the acceptance are about
FEATURES = ("width_ratio", "segment_ratio")  # the offset's features in --refit (calibration.FEATURES)
# candidates measured here only (not in the product's clip_features): see trunk_thigh_world
CANDIDATES = ("trunk_thigh_world", "yaw_world", "th_sh", "th_hip")
SILHOUETTE = ("th_sh", "th_hip")  # from tools/calibration_silhouette.py (--silhouette), NaN without it


def trunk_thigh_world(world: np.ndarray) -> float:
    """(left + right shoulder-hip) over (left + right hip-knee) in the model's world landmarks,
    each segment's median length over the clip (the ratio frame by frame swings with the pose): how
    long the trunk looks against the thigh. Both sides, unlike segment_ratio's near side. On the
    side-view renders (7 bodies) it followed the per-body error: the two bodies reading a true 180
    as 192-195 read 1.48-1.49, the five reading 186-188 read 1.38-1.44 (docs/calibration.md)."""
    def length(a: int, b: int) -> float:  # the segment's median length over the clip
        return float(np.nanmedian(np.linalg.norm(world[:, a] - world[:, b], axis=1)))

    L = Landmark
    trunk = length(L.LEFT_SHOULDER, L.LEFT_HIP) + length(L.RIGHT_SHOULDER, L.RIGHT_HIP)
    thigh = length(L.LEFT_HIP, L.LEFT_KNEE) + length(L.RIGHT_HIP, L.RIGHT_KNEE)
    return trunk / thigh if thigh > 0 else float("nan")


def yaw_world(world: np.ndarray) -> float:
    """How far round from a side view the camera sits, from the model's world landmarks: the
    hip and shoulder lines' angle out of the line of sight (0 = side on, 90 = from the feet),
    degrees, median over the clip. A second yaw witness beside the picture's width_ratio."""
    L = Landmark
    lines = [
        world[:, L.LEFT_HIP] - world[:, L.RIGHT_HIP],
        world[:, L.LEFT_SHOULDER] - world[:, L.RIGHT_SHOULDER],
    ]
    angles = [np.degrees(np.arctan2(np.abs(v[:, 0]), np.abs(v[:, 2]))) for v in lines]
    return float(np.nanmedian(np.concatenate(angles)))


def view_name(spec: dict) -> str:
    if spec["view"] == "oblique":
        return f"yaw{spec['yaw_deg']:g}"
    return spec["view"]


def clip_rows(truth_path: Path, tracks: Path, centre: str = "") -> list[dict]:
    """One row per analysed rep that covers a rendered rep's top hold."""
    track_path = tracks / f"{truth_path.stem}.npz"
    if not track_path.exists():
        return []
    truth = json.loads(truth_path.read_text())
    spec = truth["spec"]
    profile = load_profile(spec["variant"])
    # any pose model's tracks are measured here (the product calibrates only the model it was fitted on)
    profile = replace(profile, calibration=replace(profile.calibration, pose_model=""))
    track = load_track(track_path)
    analysis = analyze_track(track, profile)
    candidates = {
        "trunk_thigh_world": trunk_thigh_world(track.world[track.detected].astype(float)),
        "yaw_world": yaw_world(track.world[track.detected].astype(float)),
        **dict.fromkeys(SILHOUETTE, float("nan")),
    }
    cal = analysis.calibration
    side = analysis.side.side if analysis.side.side in ("left", "right") else "left"
    rows = []
    for rep in analysis.reps:
        for t in truth["reps"]:
            a, b = t["phases"]["top"]
            if rep.start_s <= (a + b) / 2 <= rep.end_s and np.isfinite(rep.top_hip_deg):
                true = t[f"top_hip_angle_{centre}_deg_{side}" if centre else f"top_hip_angle_deg_{side}"]
                rows.append(
                    {
                        "clip": truth_path.stem,
                        "sex": spec["sex"],
                        "height_m": spec["height_m"],
                        "mass_kg": spec["mass_kg"],
                        "variant": spec["variant"],
                        "view": view_name(spec),
                        "rep": t["rep"],
                        "true": true,
                        "shown": rep.top_hip_deg,
                        "raw": float(cal.raw(rep.top_hip_deg)),
                        "calibrated": cal.calibrated,
                        **{k: cal.inputs.get(k, np.nan) for k in CLIP_FEATURES},
                        **candidates,
                    }
                )
                break
    return rows


JOINTS = ("shoulder", "hip", "knee", "ankle")  # side_points' order


def real_clip_tops(shared: Path, fit: dict) -> list[dict]:
    """The labelled real clips (../shared/videos*/labels.csv, tracks cached by tools/eval_faults.py):
    each counted rep's top as shipped and as the `fit` would show it, beside the label's by-eye
    range. Renders are not people: this is the check a fit must pass before it ships."""
    import csv

    sys.path.insert(0, str(ROOT / "tools"))
    from eval_faults import cached_track

    out = []
    for folder in (shared, shared.parent / "videos_new"):
        with open(folder / "labels.csv", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["top_hip_deg_approx"]]
        for row in rows:
            profile = load_profile(row["variant"].split(";")[0])
            analysis = analyze_track(cached_track(folder / row["clip"]), profile)
            cal = analysis.calibration
            tops = [r.top_hip_deg for r in analysis.reps if np.isfinite(r.top_hip_deg)]
            if not cal.calibrated or not tops:
                out.append({"clip": row["clip"], "label": row["top_hip_deg_approx"], "why": cal.reason})
                continue
            new = calibrate(cal.inputs, analysis.view.view, fitted_model(profile.calibration, fit))
            raw = [float(cal.raw(t)) for t in tops]
            out.append({"clip": row["clip"], "label": row["top_hip_deg_approx"], "view": row["view"],
                        "shipped": tops, "raw": raw, "fit": [float(new.shown(x)) for x in raw]})
    return out


def attribution(truth_path: Path, tracks: Path) -> dict | None:
    """Where one clip's raw top error comes from: the image-plane hip angle at the rendered top holds
    with the model's landmarks, then with one of shoulder / hip / knee moved to the rig's projected
    joint (so that joint's share of the error shows), and from the rig's joints alone (the
    projection's own error). Medians over the top frames, degrees minus the true joint angle."""
    track_path = tracks / f"{truth_path.stem}.npz"
    if not track_path.exists():
        return None
    truth = json.loads(truth_path.read_text())
    track = load_track(track_path)
    side = truth["spec"]["near_side"]
    frames = truth["frames"]
    n = min(len(frames["t"]), track.n_frames)
    model = side_points(track.image[:n], side)
    rig = np.stack([np.asarray(frames["joints2d"][f"{side}_{j}"][:n], float) for j in JOINTS], axis=1)
    true = np.asarray(frames[f"hip_angle_deg_{side}"][:n], float)
    top = np.array([p == "top" for p in frames["phase"][:n]])

    def error(points: np.ndarray) -> float:
        return float(np.nanmedian(angles_from_points(points).hip[top] - true[top]))

    out = {"clip": truth_path.stem, "model": error(model), "rig": error(rig)}
    for i, j in enumerate(JOINTS[:3]):
        swapped = model.copy()
        swapped[:, i] = rig[:, i]
        out[f"rig {j}"] = error(swapped)
    surface = rig.copy()
    surface[:, 1] = np.asarray(frames["joints2d"][f"{side}_hip_surface"][:n], float)
    out["rig, hip on the surface"] = error(surface)
    return out


def refit(
    rows: list[dict],
    features: tuple[str, ...] = ("width_ratio",),
    gain_features: tuple[str, ...] = ("width_ratio",),
) -> dict:
    """Least squares raw - 180 = o0 + sum o_k f_k + (g0 + sum g_j f_j) (true - 180) over the reps."""
    d = np.array([r["true"] - 180.0 for r in rows])
    f = np.array([[r[k] for k in features] for r in rows]).reshape(len(rows), len(features))
    g = np.array([[r[k] for k in gain_features] for r in rows]).reshape(len(rows), len(gain_features))
    X = np.column_stack([np.ones(len(rows)), f, d, g * d[:, None]])
    y = np.array([r["raw"] - 180.0 for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    n = len(features)
    used = dict.fromkeys((*features, *gain_features))
    return {
        "offset_deg": round(float(coef[0]), 2),
        "offset_per": {k: round(float(c), 2) for k, c in zip(features, coef[1 : 1 + n], strict=True)},
        "gain": round(float(coef[1 + n]), 3),
        "gain_per": {k: round(float(c), 3) for k, c in zip(gain_features, coef[2 + n :], strict=True)},
        "fitted_range": {
            k: [round(min(r[k] for r in rows), 3), round(max(r[k] for r in rows), 3)] for k in used
        },
    }


def fitted_model(base: CalibrationModel, fit: dict, extrapolate: bool = False) -> CalibrationModel:
    """A profile's calibration with refit()'s coefficients (no clamping to the fit's span when
    extrapolate)."""
    ranges = {} if extrapolate else {k: tuple(v) for k, v in fit["fitted_range"].items()}
    return replace(base, **{**fit, "fitted_range": ranges})


def predicted(row: dict, fit: dict, extrapolate: bool = False) -> float:
    """The top a calibration fitted as `fit` shows for this row's raw reading (features clamped to
    the span the fit saw, as the product does, unless extrapolate)."""
    model = fitted_model(load_profile(row["variant"]).calibration, fit, extrapolate)
    features = {k: row[k] for k in (*CLIP_FEATURES, *CANDIDATES)}
    return float(calibrate(features, "side", model).shown(row["raw"]))


def cross_validate(
    rows: list[dict],
    bodies: tuple[str, ...],
    features: tuple[str, ...],
    markdown: bool,
    gain_features: tuple[str, ...] = ("width_ratio",),
    extrapolate: bool = False,
) -> None:
    """Each body's reps shown by a fit on the other bodies (leave one body out); clips of no listed
    body (the committed renders) by the fit on all of them. Prints the per body-and-view table."""
    off = [r for r in rows if r["near"] and not r["calibrated"]]
    near = [r for r in rows if r["near"] and r["calibrated"]]
    for clip in sorted({r["clip"] for r in off}):
        wr = next(r["width_ratio"] for r in off if r["clip"] == clip)
        print(f"{clip}: not calibrated (width ratio {wr:.3f}: further round than the fit), left out")
    full = refit([r for r in near if r["clip"].startswith(bodies)], features, gain_features)
    for r in near:
        body = next((b for b in bodies if r["clip"].startswith(b)), None)
        rest = [q for q in near if not q["clip"].startswith(body or "\0")]
        fit = full if body is None else refit(rest, features, gain_features)
        r["cv_error"] = predicted(r, fit, extrapolate) - r["true"]
        r["cv_body"] = body or r["clip"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in near:
        groups.setdefault((r["cv_body"], f"{r['variant']} {r['view']}"), []).append(r)
    head = ["held out", "variant view", "reps", "mean |error|", "max |error|", f"within {TOLERANCE_DEG:g}"]
    print(("| " + " | ".join(head) + " |\n|" + "---|" * len(head)) if markdown else "  ".join(head))
    for (b, v), rs in sorted(groups.items()):
        err = np.abs([r["cv_error"] for r in rs])
        cells = [
            b,
            v,
            str(len(rs)),
            f"{err.mean():.1f}",
            f"{err.max():.1f}",
            f"{np.mean(err <= TOLERANCE_DEG):.0%}",
        ]
        print(("| " + " | ".join(cells) + " |") if markdown else "  ".join(f"{c:>14}" for c in cells))
    err = np.abs([r["cv_error"] for r in near])
    print(
        f"\nall held-out reps (tops within {NEAR_LINE_DEG:g} of 180): {len(err)}, "
        f"within {TOLERANCE_DEG:g} deg: {np.mean(err <= TOLERANCE_DEG):.0%}, "
        f"90% within {np.percentile(err, 90):.1f}, "
        f"max {err.max():.1f}"
    )
    print(f"fit on every body (the shipped coefficients): {json.dumps(full)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--renders", type=Path, nargs="+", default=[Path("/work/renders/calib"), ROOT / "sample_videos"]
    )
    ap.add_argument("--tracks", type=Path, default=Path("/work/renders/tracks"))
    ap.add_argument(
        "--fit",
        nargs="*",
        default=["f155", "f168", "f180", "m170", "m182", "m195"],
        help="body prefixes fitted on",
    )
    ap.add_argument(
        "--cv", action="store_true", help="leave one --fit body out: each body on a fit without it"
    )
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--refit", action="store_true", help="print coefficients fitted on the --fit clips")
    ap.add_argument(
        "--features", nargs="*", default=list(FEATURES), help=f"offset features (or {', '.join(CANDIDATES)})"
    )
    ap.add_argument("--gain-features", nargs="*", default=["width_ratio"], help="gain features")
    ap.add_argument("--views", nargs="*", help="only these views (side, yaw40, ...)")
    ap.add_argument(
        "--extrapolate", action="store_true", help="--cv: features past the fit's span are not clamped"
    )
    ap.add_argument(
        "--silhouette",
        type=Path,
        help="JSON from tools/calibration_silhouette.py: adds th_sh, th_hip; clips without them are left out",
    )
    ap.add_argument(
        "--hip-centre",
        choices=["anatomical", "rig"],
        help="the truth's hip point (truth files from tools/synth after the anatomical centre); "
        "default: the one the clip was posed on",
    )
    ap.add_argument(
        "--real",
        type=Path,
        help="with --refit: the labelled real clips (this shared videos folder), as shipped and as "
        "the fit shows them",
    )
    ap.add_argument("--variant", help="--refit on this variant's clips only (e.g. glute_bridge)")
    ap.add_argument(
        "--attribution",
        action="store_true",
        help="per clip: the raw top error with each model landmark moved to the rig's joint",
    )
    args = ap.parse_args(argv)
    if args.attribution:
        found = [
            a
            for d in args.renders
            for p in sorted(d.glob("*.json"))
            if p.stem != "README" and (a := attribution(p, args.tracks))
        ]
        head = ["clip", "model", "rig shoulder", "rig hip", "rig knee", "rig", "rig, hip on the surface"]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for a in found:
            print("| " + " | ".join([a["clip"], *(f"{a[k]:+.1f}" for k in head[1:])]) + " |")
        return 0
    rows = [
        r
        for d in args.renders
        for p in sorted(d.glob("*.json"))
        if p.stem != "README"
        for r in clip_rows(p, args.tracks, args.hip_centre)
    ]
    if not rows:
        print("no rendered clip with a cached pose track", file=sys.stderr)
        return 1
    rows = [r for r in rows if not args.views or r["view"] in args.views]
    if args.silhouette:
        outline = json.loads(args.silhouette.read_text())
        rows = [{**r, **outline[r["clip"]]} for r in rows if r["clip"] in outline]
    for r in rows:
        r["set"] = "fit" if r["clip"].startswith(tuple(args.fit)) else "held-out"
        r["error"] = r["shown"] - r["true"]
        r["near"] = abs(r["true"] - 180.0) <= NEAR_LINE_DEG
        if not r["near"]:  # kept in the per-rep table, out of the summary
            r["set"] += f" (top {r['true']:.0f}: off the fitted range)"
    if args.refit:
        fit = [
            r
            for r in rows
            if r["set"] == "fit" and args.variant in (None, r["variant"]) and r["near"] and r["calibrated"]
        ]
        coefficients = refit(fit, tuple(args.features), tuple(args.gain_features))
        print(json.dumps(coefficients))
        for r in real_clip_tops(args.real, coefficients) if args.real else []:
            if "why" in r:
                print(f"  {r['clip'][:44]:44s} label {r['label']:>8s}: {r['why']}")
                continue
            tops = {k: " ".join(f"{x:.1f}" for x in r[k]) for k in ("shipped", "raw", "fit")}
            print(f"  {r['clip'][:44]:44s} label {r['label']:>8s} | shipped {tops['shipped']}"
                  f" | raw {tops['raw']} | this fit {tops['fit']}")
    if args.cv:
        cross_validate(
            rows,
            tuple(args.fit),
            tuple(args.features),
            args.markdown,
            tuple(args.gain_features),
            args.extrapolate,
        )
        return 0
    sep = " | " if args.markdown else "  "
    head = ["clip", "set", "body", "view", "rep", "true", "shown", "raw", "error"]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    else:
        print(sep.join(f"{h:>8}" for h in head))
    for r in rows:
        body = f"{'F' if r['sex'] < 0.5 else 'M'} {r['height_m']:.2f}m {r['mass_kg']:g}kg"
        cells = [
            r["clip"],
            r["set"],
            body,
            f"{r['variant'].split('_')[0]} {r['view']}",
            str(r["rep"]),
            f"{r['true']:.1f}",
            f"{r['shown']:.1f}",
            f"{r['raw']:.1f}",
            f"{r['error']:+.1f}",
        ]
        print(("| " + sep.join(cells) + " |") if args.markdown else sep.join(f"{c:>8}" for c in cells))
    print()
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["set"], f"{r['variant']} {r['view']}"), []).append(r)
    head = ["set", "variant view", "reps", "mean |error|", "max |error|", f"within {TOLERANCE_DEG:g}"]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for (s, v), rs in sorted(groups.items()):
        err = np.abs([r["error"] for r in rs])
        cells = [
            s,
            v,
            str(len(rs)),
            f"{err.mean():.1f}",
            f"{err.max():.1f}",
            f"{np.mean(err <= TOLERANCE_DEG):.0%}",
        ]
        print(("| " + " | ".join(cells) + " |") if args.markdown else "  ".join(f"{c:>14}" for c in cells))
    for s in ("fit", "held-out"):
        err = np.abs([r["error"] for r in rows if r["set"] == s])
        if len(err):
            print(f"{s}: {len(err)} reps, within {TOLERANCE_DEG:g} deg: {np.mean(err <= TOLERANCE_DEG):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
