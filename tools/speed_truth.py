"""Rep speed and velocity loss against rendered truth.

Usage: python tools/speed_truth.py [CLIP.mp4 ...] [--source height|world|both]

Default clips: sample_videos/*.mp4 and tests/data/synth60/*.mp4, each with its truth JSON beside it.
Truth: the mid-point of the true hip joint centres (frames.joints3d left_hip/right_hip, metres,
z up), its vertical rise over each true concentric (reps[].phases.up) / the phase's duration
(mean) and its highest upward speed inside it (peak, central differences on the rendered frames).
Measured: formcheck's own reps and speed stage on the real pose model's track, the scale from the
rendered body's height (spec.height_m: "height") or the model's world landmarks ("world").
A measured rep is paired with the true rep whose concentric overlaps its own most.
Pose tracks are cached like tools/eval_faults.py (~/.cache/formcheck-eval).

Summary per scale source: the |error| spread of the mean (against the whole rendered drive and
against formcheck's 5%-of-peak span) and of the peak; the verdict: reps shown, how many within
10% of the truth in mean (whole drive) AND peak, each miss, the reps not measurable by reason;
and velocity loss within 5 points of the truth's (whole drive) on how many of the sets it is
shown for. The default clips are the renders the constants were tuned on; pass held-out renders
(tools/synth, never tuned on) as arguments to judge them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from eval_faults import cached_track  # noqa: E402  (this folder: the same cache, the same keys)

ROOT = Path(__file__).resolve().parents[1]


def true_speeds(truth: dict) -> list[tuple[float, float, float, float, float | None]]:
    """Per true rep: (up start, up end, mean m/s over the whole up phase, peak m/s, mean m/s over
    the drive as formcheck delimits it: where the true upward speed exceeds 5% of its peak)."""
    from formcheck.speed import concentric_speed

    frames = truth["frames"]
    t = np.asarray(frames["t"], dtype=float)
    joints = frames["joints3d"]
    z = (np.asarray(joints["left_hip"])[:, 2] + np.asarray(joints["right_hip"])[:, 2]) / 2
    v = np.gradient(z, t)
    out = []
    for rep in truth["reps"]:
        a, b = rep["phases"]["up"]
        za, zb = np.interp([a, b], t, z)
        inside = (t >= a) & (t <= b)
        same, _ = concentric_speed(z, t, a, b)
        out.append((a, b, float((zb - za) / (b - a)), float(v[inside].max()), same))
    return out


def paired(start: float, end: float, truths: list) -> int | None:
    overlaps = [min(end, b) - max(start, a) for a, b, *_ in truths]
    best = int(np.argmax(overlaps))
    return best if overlaps[best] > 0 else None


def pct(measured: float | None, true: float) -> str:
    return "-" if measured is None else f"{(measured - true) / true * 100:+.1f}"


@dataclass
class Tally:
    """What a run shows against the truth: per rep (error % or why not shown), per set's loss."""

    shown: list[tuple[str, int, float, float]] = field(default_factory=list)  # clip, rep, mean err, peak err
    hidden: list[tuple[str, int, str]] = field(default_factory=list)  # clip, rep, reason
    loss: list[tuple[str, float, float]] = field(default_factory=list)  # clip, measured, true (phase)
    loss_hidden: list[str] = field(default_factory=list)  # clips whose set shows no loss
    errors: list[tuple[float, float, float]] = field(default_factory=list)  # mean vs phase, vs span, peak


def run(clip: Path, source: str, tally: Tally) -> None:
    from formcheck.pipeline import analyse, rep_speeds
    from formcheck.speed import velocity_loss

    truth = json.loads(clip.with_suffix(".json").read_text())
    track = cached_track(clip)
    analysis, profile = analyse(track)
    height = truth["spec"]["height_m"] if source == "height" else None
    sp = rep_speeds(track, analysis, profile, height * 100 if height else None)
    truths = true_speeds(truth)
    scale = f"{sp.scale.source} {sp.scale.px_per_m:.0f} px/m" if sp.scale else sp.not_measurable
    spec = truth["spec"]
    print(f"\n{clip.stem}  [{spec['view']}, {analysis.view.view} read, {spec['fps']:g} fps, "
          f"{spec['height_m']} m]  scale: {scale}")
    print("  rep  true mean(phase)  (5%-span)  meas mean  err% (phase)  (5%-span)"
          "   true peak  meas peak  err%")
    for rep, s in zip(analysis.reps, sp.reps, strict=True):
        k = paired(rep.start_s, rep.top_start_s, truths)
        if k is None:
            print(f"  {rep.index:>3}  (no true rep)")
            continue
        _, _, tm, tp, ts = truths[k]
        if s.mean_mps is not None:
            e = ((s.mean_mps - tm) / tm * 100, (s.mean_mps - ts) / ts * 100, (s.peak_mps - tp) / tp * 100)
            tally.errors.append(e)
            tally.shown.append((clip.stem, rep.index, e[0], e[2]))
        else:
            tally.hidden.append((clip.stem, rep.index, s.reason or "-"))
        m = "-" if s.mean_mps is None else f"{s.mean_mps:.3f}"
        p = "-" if s.peak_mps is None else f"{s.peak_mps:.3f}"
        print(f"  {rep.index:>3}  {tm:16.3f}  {ts:9.3f}  {m:>9}  {pct(s.mean_mps, tm):>11}  "
              f"{pct(s.mean_mps, ts):>9}   {tp:9.3f}  {p:>9}  {pct(s.peak_mps, tp):>5}")
    true_loss = velocity_loss([m for _, _, m, *_ in truths])
    true_loss5 = velocity_loss([m[4] for m in truths])
    meas_loss = [v for v in sp.velocity_loss_pct.values()]
    fmt = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    measured = ", ".join(map(fmt, meas_loss)) or "-"
    print(f"  velocity loss %: true {fmt(true_loss)} (phase) {fmt(true_loss5)} (5%-span)  measured {measured}"
          f"  (true reps {len(truths)}, measured {len(analysis.reps)})")
    for v in meas_loss:  # the renders are one set each
        if v is None:
            tally.loss_hidden.append(clip.stem)
        elif true_loss is not None:
            tally.loss.append((clip.stem, v, true_loss))


def summary(tally: Tally, source: str, limit: float = 10.0, loss_limit: float = 5.0) -> None:
    """The verdict: of the reps shown, how many are within `limit` % of the truth in mean (over the
    rendered concentric) AND peak; the reps not shown, by reason; velocity loss within loss_limit."""
    for col, what in enumerate(("mean vs phase", "mean vs 5%-span", "peak")):
        a = np.abs([e[col] for e in tally.errors])
        if len(a):
            print(f"{source}: {what}: |error| over {len(a)} reps: median {np.median(a):.1f}%, "
                  f"max {a.max():.1f}%, within {limit:g}%: {(a <= limit).sum()}/{len(a)}")
    ok = [r for r in tally.shown if abs(r[2]) <= limit and abs(r[3]) <= limit]
    print(f"{source}: reps shown {len(tally.shown)}, within {limit:g}% (mean and peak) {len(ok)}, "
          f"not measurable {len(tally.hidden)}")
    for clip, rep, m, p in tally.shown:
        if (clip, rep, m, p) not in ok:
            print(f"  miss: {clip} rep {rep}: mean {m:+.1f}%, peak {p:+.1f}%")
    for reason in sorted({r for *_, r in tally.hidden}):
        which = [f"{c} {i}" for c, i, r in tally.hidden if r == reason]
        print(f"  not measurable ({len(which)}): {reason}\n    {', '.join(which)}")
    good = [x for x in tally.loss if abs(x[1] - x[2]) <= loss_limit]
    print(f"{source}: velocity loss shown on {len(tally.loss)} sets, "
          f"within {loss_limit:g} points {len(good)}, "
          f"not shown {len(tally.loss_hidden)}")
    for clip, m, t in tally.loss:
        if abs(m - t) > loss_limit:
            print(f"  miss: {clip}: measured {m:.1f}, true {t:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--source", choices=("height", "world", "both"), default="both")
    args = ap.parse_args(argv)
    clips = args.clips or sorted((ROOT / "sample_videos").glob("*.mp4")) + sorted(
        (ROOT / "tests/data/synth60").glob("*.mp4"))
    for source in ("height", "world") if args.source == "both" else (args.source,):
        print(f"===== scale source: {source} =====")
        tally = Tally()
        for clip in clips:
            run(clip, source, tally)
        summary(tally, source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
