"""How live's frame drops move the report: each labelled real clip's track with a share of its
frames removed, spread out as the capture queue drops them, left empty or bridged as the recorder
bridges them (live/recorder.bridge_dropped), against the report on every frame.

Usage: python tools/drop_sensitivity.py [--shared DIR ...] [--fractions 0.1 0.2] [--patterns 5]

The tracks are one pose stream over every analysed frame, as live runs the model (a 60 fps clip:
every 2nd frame), cached by tools/eval_faults.cached_track. A run "changed" when
the rep count or any rep's faults differ from the full track's; each change is printed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from eval_faults import cached_track  # noqa: E402  (the same cache, the same keys)


def queue_like_drops(n: int, frac: float, seed: int) -> np.ndarray:
    """frac of n frames, spread out (at most one in each stretch of 1/frac frames)."""
    k = int(round(frac * n))
    step = n / max(k, 1)
    at = (np.arange(k) * step + np.random.default_rng(seed).uniform(0, 0.6 * step, k)).astype(int)
    mask = np.zeros(n, bool)
    mask[np.clip(at, 0, n - 1)] = True
    return mask


def with_drops(track, drops: np.ndarray, bridge: bool):
    from formcheck.live.recorder import bridge_dropped

    rows = np.concatenate([track.image, track.world, track.visibility[..., None]], axis=-1).astype(np.float32)
    rows[drops] = np.nan
    if bridge:
        rows, _ = bridge_dropped(rows, track.timestamps, drops)
    image, world = np.ascontiguousarray(rows[..., 0:3]), np.ascontiguousarray(rows[..., 3:6])
    return replace(track, image=image, world=world, visibility=np.nan_to_num(rows[..., 6]))


def verdicts(track, variant: str) -> tuple[int, dict[int, tuple[str, ...]]]:
    from formcheck import pipeline

    report = pipeline.run_track(track, pipeline.Settings(variant=variant)).report
    return len(report.reps), {r.rep: tuple(sorted(r.faults)) for r in report.reps}


def changes(base: tuple, got: tuple) -> list[str]:
    if got[0] != base[0]:
        return [f"reps {base[0]}->{got[0]}"]
    out = []
    for rep, codes in base[1].items():
        now = set(got[1].get(rep, ()))
        out += [f"r{rep}-{c}" for c in sorted(set(codes) - now)]
        out += [f"r{rep}+{c}" for c in sorted(now - set(codes))]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = ROOT.parent / "shared"
    ap.add_argument("--shared", nargs="*", type=Path, default=[shared / "videos", shared / "videos_new"])
    ap.add_argument("--fractions", nargs="*", type=float, default=[0.1, 0.2])
    ap.add_argument("--patterns", type=int, default=5)
    args = ap.parse_args(argv)
    totals = {False: [0, 0], True: [0, 0]}  # bridged -> [runs, changed]
    for folder in args.shared:
        for row in csv.DictReader((folder / "labels.csv").open()):
            track = cached_track(folder / row["clip"], single_stream=True)
            variant = row["variant"].split(";")[0].strip()
            base = verdicts(track, variant)
            parts = []
            for bridge in (False, True):
                found = []
                for frac in args.fractions:
                    for seed in range(args.patterns):
                        drops = queue_like_drops(track.n_frames, frac, seed)
                        got = verdicts(with_drops(track, drops, bridge), variant)
                        totals[bridge][0] += 1
                        if got != base:
                            totals[bridge][1] += 1
                            found += [f"{frac:.0%}/{seed}:{c}" for c in changes(base, got)]
                parts.append(("bridged" if bridge else "empty") + ": " + (", ".join(found) or "unchanged"))
            print(f"{row['clip']} ({base[0]} reps) | " + " || ".join(parts), flush=True)
    for bridge in (False, True):
        runs, changed = totals[bridge]
        print(f"{'bridged' if bridge else 'left empty'}: {changed} of {runs} runs changed the report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
