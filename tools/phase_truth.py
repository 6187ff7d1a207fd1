"""Phase boundaries of real clips read from the pixels (truth for tests/data/phase_truth.csv).

Usage: python tools/phase_truth.py CLIP_DIR --out DIR [--clip NAME ...] [--px N] [--range A B]
                                   [--truth tests/data/phase_truth.csv]

The truth must not come from formcheck (no pose model, no hip angle): it is measured on the
pixels and checked by eye. Per clip, tools/phase_truth_settings.json gives a band of pixel
columns through the hips (`col`, a fraction of the width, +-3 px), the rows to look at (`rows`,
fractions of the height) and a colour predicate as data: per channel (B, G, R or a difference
such as "R-B") an inclusive [lo, hi] range that a pixel of the body's top edge satisfies (a list
of such predicates: any of them).

1. Contour: per frame, the first row (from the top of the band; the last with `edge` "bottom")
   where most of the band's columns satisfy the predicate, i.e. the height of the hips' top edge
   (or of something riding on the hips: a dumbbell, a bar).
   Frames where nothing matches are interpolated.
2. Transitions (within `span` [first, last] frames if set): the height (median of 3 frames,
   to absorb repeated frames) crosses the
   mid-level between its 10th and 90th percentiles; each crossing's extent is the run of
   frames whose speed (gradient smoothed over 3 frames) stays above `frac` (15%) of the
   transition's peak speed; then refined to the frame where the height leaves (start) or comes
   within `plateau` (5%) of the transition's amplitude of the adjacent plateau (median of the
   6 frames before/after the run).
   "up a b": a = drive start (last frame at rest), b = top reached;
   "down a b": a = descent start (last frame at the top), b = bottom reached.
   A last descent cut off by the clip's end before the mid-level gets its start by the same
   5% rule when the height has dropped by a quarter of the amplitude.
3. Pictures: DIR/<clip>.png, a kymograph (the column band of every frame stacked left to
   right, `px` pixels per frame, ticks every 10 frames, labels every 30) with the contour
   (yellow dots) and the boundaries drawn: green drive start, red top reached, blue descent
   start, magenta bottom reached. Check every boundary on it by eye; --range A B --px 6 zooms.
   With --truth CSV the CSV's boundaries (including those set by eye where the rule is wrong,
   see its source and note columns) are drawn as marks in a strip under the picture, and every
   CSV boundary that differs from the rule's is listed.

Self-contained (numpy, OpenCV, SciPy); it does not import formcheck.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

SETTINGS = Path(__file__).with_name("phase_truth_settings.json")
CHANNELS = {"B": 0, "G": 1, "R": 2}
COLOURS = {  # BGR
    "drive_start": (0, 160, 0),
    "top_reached": (0, 0, 255),
    "descent_start": (255, 0, 0),
    "bottom_reached": (200, 0, 200),
}


@dataclass(frozen=True)
class Transition:
    kind: str  # "up" or "down"
    start: int | None  # drive start / descent start: last frame at rest (None: not seen)
    end: int | None  # top reached / bottom reached: first frame at rest (None: not seen)


def load_settings(path: Path = SETTINGS) -> dict[str, dict]:
    """The per-clip settings table (clip file name -> settings); keys starting "_" are comments."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _channel(band: np.ndarray, name: str) -> np.ndarray:
    """One channel ("R") or a difference of two ("R-B") of a BGR band, as int."""
    if "-" in name:
        a, b = name.split("-")
        return band[..., CHANNELS[a]].astype(int) - band[..., CHANNELS[b]].astype(int)
    return band[..., CHANNELS[name]].astype(int)


def colour_mask(band: np.ndarray, colour: dict[str, list[int]] | list[dict[str, list[int]]]) -> np.ndarray:
    """Pixels of a BGR band inside every [lo, hi] range of the predicate; a list of predicates
    matches a pixel that any one of them matches."""
    if isinstance(colour, list):
        return np.logical_or.reduce([colour_mask(band, c) for c in colour])
    mask = np.ones(band.shape[:-1], bool)
    for name, (lo, hi) in colour.items():
        c = _channel(band, name)
        mask &= (c >= lo) & (c <= hi)
    return mask


def read_bands(clip: Path, col: float, rows: list[float]) -> tuple[np.ndarray, float, int]:
    """The column band (rows x 7 columns x BGR) of every decoded frame, the fps and the first row."""
    cap = cv2.VideoCapture(str(clip))
    if not cap.isOpened():
        raise FileNotFoundError(clip)
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    bands, ya = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        c, ya, yb = int(col * w), int(rows[0] * h), int(rows[1] * h)
        bands.append(frame[ya:yb, max(0, c - 3) : c + 4].copy())
    cap.release()
    return np.stack(bands), fps, ya


def contour(bands: np.ndarray, colour, first_row: int, edge: str = "top") -> np.ndarray:
    """Per frame, the first row (edge="top") or the last row (edge="bottom"), in the frame, where
    most of the band matches; -1 if none."""
    hit = colour_mask(bands, colour).mean(axis=2) > 0.5  # (frames, rows)
    found = hit.any(axis=1)
    if edge == "bottom":
        return np.where(found, first_row + hit.shape[1] - 1 - hit[:, ::-1].argmax(axis=1), -1)
    return np.where(found, first_row + hit.argmax(axis=1), -1)


def transitions(rows: np.ndarray, frac: float = 0.15, plateau: float = 0.05,
                span: tuple[int, int] | None = None, smooth: int = 3, window: int = 15) -> list[Transition]:
    """Up and down transitions of a contour (rows, down positive); see the module docstring.
    span = (first, last): only these frames are analysed (leaving out a cut-off start, an end
    screen). A transition still moving at the span's edge has that boundary None (not seen).
    smooth: frames the speed is averaged over; window: frames either side of a crossing where
    the transition's peak speed is looked for (both larger for slow reps)."""
    first, last = span if span else (0, len(rows) - 1)
    y = rows[first : last + 1].astype(float)
    bad = y < 0
    if bad.all():
        return []
    if bad.any():
        idx = np.arange(len(y))
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])
    h = -median_filter(y, 3, mode="nearest")  # height, up positive
    v = uniform_filter1d(np.gradient(h), smooth, mode="nearest")
    mid = (np.percentile(h, 10) + np.percentile(h, 90)) / 2
    above = h > mid
    found = []
    for i in np.flatnonzero(above[:-1] != above[1:]):
        c, kind = int(i) + 1, "up" if above[i + 1] else "down"
        sign = 1 if kind == "up" else -1
        th = frac * (sign * v[max(0, c - window) : c + window]).max()
        a = c
        while a > 0 and sign * v[a - 1] > th:
            a -= 1
        b = c
        while b < len(v) - 1 and sign * v[b] > th:
            b += 1
        before = np.median(h[max(0, a - 6) : a + 1])
        after = np.median(h[b : b + 6])
        tol = plateau * abs(after - before)
        s = c
        while s > 0 and abs(h[s - 1] - before) > tol:
            s -= 1
        e = c
        while e < len(h) - 1 and abs(h[e] - after) > tol:
            e += 1
        start = None if a == 0 else first + max(s - 1, 0)
        end = None if b == len(v) - 1 else first + e
        found.append(Transition(kind, start, end))
    if found and found[-1].kind == "up" and found[-1].end is not None:
        # a last descent cut off by the end before it crosses the mid-level: its start is the
        # last frame within `plateau` of the top, if the height then drops by a quarter or more
        e = found[-1].end - first
        top = np.median(h[e : e + 6])
        amp = abs(top - np.median(h[max(0, found[-1].start - first - 6) : found[-1].start - first + 1]))
        if h[-1] < top - 0.25 * amp:
            s = e
            while s < len(h) - 1 and abs(h[s + 1] - top) <= plateau * amp:
                s += 1
            found.append(Transition("down", first + s, None))
    return found


def as_reps(found: list[Transition]) -> list[dict[str, int | None]]:
    """Pair transitions into reps: an up then the next down. A down with no up before it (the clip
    starts at the top) or an up with no down after it (ends at the top) is a partial rep."""
    reps, cur = [], None
    for t in found:
        if t.kind == "up":
            if cur is not None:
                reps.append(cur)
            cur = {"drive_start": t.start, "top_reached": t.end}
            cur.update(descent_start=None, bottom_reached=None)
        else:
            if cur is None:
                cur = {"drive_start": None, "top_reached": None}
            cur.update(descent_start=t.start, bottom_reached=t.end)
            reps.append(cur)
            cur = None
    if cur is not None:
        reps.append(cur)
    return reps


def kymograph(bands: np.ndarray, rows: np.ndarray, first_row: int, reps: list[dict], px: int = 3,
              max_height: int = 260, first: int = 0, truth: list[dict] | None = None) -> np.ndarray:
    """The picture: one column per frame (px wide), contour dots, boundaries as vertical lines.
    bands and rows may be a stretch of the clip starting at frame `first` (a zoom). truth (the
    CSV's reps) is drawn as coloured marks in a strip under the picture."""
    k = bands.mean(axis=2).astype(np.uint8).transpose(1, 0, 2)  # (rows, frames, BGR)
    n, height = k.shape[1], k.shape[0]
    scale = min(1.0, max_height / height)
    k = cv2.resize(np.repeat(k, px, axis=1), (n * px, max(1, int(height * scale))),
                   interpolation=cv2.INTER_AREA)
    for f, r in enumerate(rows):
        if r >= 0:
            cv2.circle(k, (f * px + px // 2, int((r - first_row) * scale)), 1, (255, 255, 0), -1)
    for rep in reps:
        for key, colour in COLOURS.items():
            f = rep.get(key)
            if f is not None and 0 <= f - first < n:
                x = (f - first) * px + px // 2
                cv2.line(k, (x, 0), (x, k.shape[0] - 1), colour, 1)
    bar = np.full((16, k.shape[1], 3), 255, np.uint8)
    strip = np.full((12 if truth else 0, k.shape[1], 3), 255, np.uint8)
    for rep in truth or []:
        for key, colour in COLOURS.items():
            f = rep.get(key)
            if f is not None and 0 <= f - first < n:
                x = (f - first) * px + px // 2
                cv2.rectangle(strip, (x - 1, 1), (x + 1, 10), colour, -1)
    for f in range(-first % 10, n, 10):
        cv2.line(k, (f * px, 0), (f * px, 5), (0, 0, 255), 1)
        cv2.line(k, (f * px, k.shape[0] - 6), (f * px, k.shape[0] - 1), (0, 0, 255), 1)
        if (f + first) % 30 == 0 or px >= 6:
            cv2.putText(bar, str(f + first), (f * px, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    return np.vstack([k, strip, bar])


def measure(clip: Path, settings: dict) -> tuple[list[dict], dict]:
    """(reps, details) of one clip from its settings; details holds fps, rows, bands, transitions."""
    bands, fps, ya = read_bands(clip, settings["col"], settings["rows"])
    rows = contour(bands, settings["colour"], ya, settings.get("edge", "top"))
    span = tuple(settings["span"]) if settings.get("span") else None
    found = transitions(rows, settings.get("frac", 0.15), settings.get("plateau", 0.05), span,
                        settings.get("smooth", 3), settings.get("window", 15))
    reps = as_reps(found)
    return reps, {"fps": fps, "rows": rows, "bands": bands, "first_row": ya, "transitions": found}


def load_truth(path: Path) -> dict[str, list[dict]]:
    """clip -> the CSV's reps (boundaries as int or None), as in tests/data/phase_truth.csv."""
    import csv

    out: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["rep"]:
                rep = {k: int(row[k]) if row[k] else None for k in COLOURS}
                out.setdefault(row["clip"], []).append({"rep": row["rep"], "source": row["source"], **rep})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for the kymograph PNGs")
    ap.add_argument("--clip", action="append", help="only these clips (file names); repeatable")
    ap.add_argument("--px", type=int, default=3, help="pixels per frame in the kymograph")
    ap.add_argument("--range", type=int, nargs=2, metavar=("FIRST", "LAST"),
                    help="draw only these frames (a zoom; with --px 6 every frame is labelled every 10)")
    ap.add_argument("--height", type=int, default=260, help="kymograph height in pixels at most")
    ap.add_argument("--settings", type=Path, default=SETTINGS)
    ap.add_argument("--truth", type=Path, help="a phase truth CSV: draw its boundaries in a strip under "
                    "the picture and list where they differ from the rule's")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    table = load_settings(args.settings)
    truth = load_truth(args.truth) if args.truth else {}
    for name, s in table.items():
        if args.clip and name not in args.clip:
            continue
        if s.get("no_truth"):
            print(f"{name}: no phase truth ({s['no_truth']})")
            continue
        clip = args.clip_dir / name
        if not clip.exists():
            print(f"{name}: missing in {args.clip_dir}", file=sys.stderr)
            continue
        reps, d = measure(clip, s)
        a, b = args.range if args.range else (0, len(d["rows"]) - 1)
        png = args.out / (clip.stem + (f"_{a}-{b}" if args.range else "") + ".png")
        picture = kymograph(d["bands"][a : b + 1], d["rows"][a : b + 1], d["first_row"], reps, args.px,
                            args.height, a, truth.get(name))
        cv2.imwrite(str(png), picture)
        print(f"{name} ({d['fps']:.3f} fps, {len(d['rows'])} frames) -> {png}")
        for t in d["transitions"]:
            print(f"  {t.kind:4s} {t.start!s:>4} {t.end!s:>4}")
        print("  drive_start top_reached descent_start bottom_reached")
        for rep in reps:
            print("  " + " ".join(f"{'' if rep[k] is None else rep[k]:>6}" for k in COLOURS))
        for i, row in enumerate(truth.get(name, [])):
            rule = reps[i] if i < len(reps) else {}
            diff = [f"{k} rule {rule.get(k)} csv {row[k]}" for k in COLOURS if rule.get(k) != row[k]]
            if diff:
                print(f"  csv rep {row['rep']} ({row['source']}): " + "; ".join(diff))
    return 0


if __name__ == "__main__":
    sys.exit(main())
