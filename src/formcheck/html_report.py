"""The report a coach sends an athlete: ONE self-contained HTML file.

Everything is inline: CSS in the page, the plots as inline SVG (matplotlib), the key frames as
base64 JPEG; no script, no font, no link leaves the file, so it opens offline, mails as one
attachment and prints. The numbers and words shown come from the typed Report (what the JSON holds),
so the page and the JSON never disagree; the series for the plots come from the Analysis itself.
All text goes through Jinja2's HTML escaping.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import jinja2
import matplotlib
import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

from .analysis import Analysis
from .files import atomic_write_text
from .findings import Fault
from .frames import FileFrames, output_size, resize
from .hip_lines import hip_lines
from .profiles import Profile
from .report import FaultReport, Report
from .report.model import ChecklistItem, hip_angle_shown
from .sets import rep_goals
from .track import PoseTrack
from .viz import Layout, draw_frame, overlay_data

if TYPE_CHECKING:
    from .frames import ClipFrames

KEY_FRAME_SIDE = 560  # px, the longer side of a key frame in the page
PHASE_COLOURS = {"up": "#3a9d5d", "top": "#e0a800", "down": "#3b7dd8", "bottom": "#9aa0a6"}
FAULT_COLOUR = "#d93025"
NO_PICTURES = "key frames need the video: pass the CLIP along with --track to see them"


def label(code: str) -> str:
    """incomplete_lockout -> Incomplete lockout."""
    return code.replace("_", " ").capitalize()


# ------------------------------------------------------------------ key frames


def key_frame_index(fault: Fault, analysis: Analysis) -> int:
    """The frame that shows a fault best: the top of its (last) rep when the top lies inside the
    fault's span (lockout, arching, hip roll...: the moment it fell short), else the span's middle
    (a rushed descent, a jerky drive)."""
    t = analysis.timestamps
    by_index = {r.index: r for r in analysis.reps}
    for rep_no in reversed(fault.reps or (fault.rep,)):
        rep = by_index.get(rep_no)
        if rep is not None and fault.start_s - 1e-3 <= t[rep.top_frame] <= fault.end_s + 1e-3:
            return int(rep.top_frame)
    middle = 0.5 * (fault.start_s + fault.end_s)
    return int(np.clip(np.searchsorted(t, middle), 0, max(len(t) - 1, 0)))


def key_frame_clip_indices(analysis: Analysis) -> list[int]:
    """The clip frames key_frames draws (a strided track's frame j is clip frame stride * j)."""
    return sorted({analysis.frame_stride * key_frame_index(f, analysis) for f in analysis.faults})


def key_frames(
    clip: str | Path | None,
    track: PoseTrack,
    analysis: Analysis,
    profile: Profile,
    max_side: int = KEY_FRAME_SIDE,
    frames: ClipFrames | None = None,
) -> list[str]:
    """Per fault, a data: URI of its key frame (JPEG) with the full overlay drawn on it.

    The frames come from `frames` (the pose pass's copy) or, without it, from decoding the clip
    once up to the last frame needed (seeking is not frame-exact in every codec)."""
    wanted = [key_frame_index(f, analysis) for f in analysis.faults]
    if not wanted:
        return []
    if frames is None:
        assert clip is not None
        frames = FileFrames(clip)
    data = overlay_data(track, analysis, profile)
    width, height, scale = output_size(track.width, track.height, max_side)
    uris: dict[int, str] = {}
    for i, frame in frames.pick(key_frame_clip_indices(analysis)).items():
        small = resize(frame, width, height)
        draw_frame(small, i // data.stride, data, Layout.for_size(width, height), scale)
        ok, jpeg = cv2.imencode(
            ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82]
        )
        if ok:
            text = base64.b64encode(jpeg.tobytes()).decode("ascii")
            uris[i // data.stride] = "data:image/jpeg;base64," + text
    return [uris.get(i, "") for i in wanted]


# ------------------------------------------------------------------ checklist


@dataclass(frozen=True)
class ChecklistRow:
    code: str
    label: str
    item: str  # the guide's checklist words
    status: str  # the report's: pass, fail, not measurable, partly measured, not judged
    note: str  # the cue for a failure, the reason otherwise
    reps: str  # where it failed
    value: str  # the set's worst measured value against its limit ("" when none was measured)


@dataclass(frozen=True)
class ChecklistTable:
    title: str  # "Set 2 (reps 5-8)", or "" with one set
    set: str  # the set's number for data-set ("" with no set)
    rows: list[ChecklistRow]


def _value(item: ChecklistItem) -> str:
    """'151 deg (limit >= 164 deg)', at the precision the report holds them."""
    if item.measured is None or item.limit is None:
        return ""
    unit = f" {item.unit}" if item.unit else ""
    return f"{item.measured:g}{unit} (limit {item.comparison} {item.limit:g}{unit})"


def checklist(report: Report, profile: Profile) -> list[ChecklistTable]:
    """The report's checklist block as the page shows it: per set, one row per enabled check in the
    guide's order, with the report's status, the worst value against its limit, and the cue for a
    failure or the reason otherwise (a check switched off in the profile is left out)."""
    tables = []
    for block in report.checklist:
        rows = [
            ChecklistRow(
                item.code,
                label(item.code),
                item.item,
                item.status,
                (profile.fault(item.code).guide.cue or item.reason or "") if item.status == "fail"
                else (item.reason or ""),
                ", ".join(map(str, item.failed_reps)),
                _value(item),
            )
            for item in block.items
            if item.status != "disabled"
        ]
        several = len(report.checklist) > 1
        title = f"Set {block.set} (rep {block.reps[0]}–{block.reps[-1]})" if several and block.reps else ""
        tables.append(ChecklistTable(title, "" if block.set is None else str(block.set), rows))
    return tables


# ------------------------------------------------------------------ plots


def _svg(fig: Any, prefix: str) -> str:
    """A matplotlib figure as inline SVG: text as text (small, selectable), no metadata, and no
    namespace URLs (inline SVG in HTML needs none), so the page holds no http(s) address at all.
    Ids get `prefix`: two inline SVGs share one id space, and url(#id) finds the first match."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "formcheck"}):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\b(id="|url\(#|href="#)', rf"\g<1>{prefix}-", svg)
    return svg.replace("<svg", '<svg role="img"', 1)


# Fixed margins (inches) around the axes: room for tick labels, axis labels and the rep numbers or
# legend above the axes. matplotlib's "tight" bounding box would draw every figure twice (the HTML
# page's plots took twice the CPU, on the GIL, while the annotated clip is encoded beside them).
MARGINS_IN = {"left": 0.6, "right": 0.1, "bottom": 0.42, "top": 0.32}
AXES_WIDTH_IN = 6.95


def _figure(height: float) -> Any:
    """A figure whose axes are AXES_WIDTH_IN by `height` inches, inside fixed margins."""
    m = MARGINS_IN
    width = AXES_WIDTH_IN + m["left"] + m["right"]
    total = height + m["top"] + m["bottom"]
    fig = Figure(figsize=(width, total))
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width,
                        bottom=m["bottom"] / total, top=1 - m["top"] / total)  # fmt: skip
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8, colors="#444")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def hip_plot(analysis: Analysis, profile: Profile, key_times: list[float]) -> str:
    """Hip angle over time, reps shaded and numbered, the lockout line, faults marked."""
    fig, ax = _figure(2.45)
    t = analysis.timestamps
    hip = np.asarray(analysis.hip, dtype=float)
    readable = np.isfinite(hip).any()
    for stretch in analysis.unusable:
        ax.axvspan(stretch.start_s, stretch.end_s, color="#bbb", alpha=0.35, lw=0, hatch="//")
    for k, rep in enumerate(analysis.reps):
        ax.axvspan(rep.start_s, rep.end_s, color="#4c8bf5" if k % 2 == 0 else "#7aa7f7", alpha=0.13, lw=0)
        ax.text(
            0.5 * (rep.start_s + rep.end_s),
            1.0,
            str(rep.index),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="#1a56c4",
        )
    if readable and hip_angle_shown(analysis.not_measurable):
        ax.plot(t, hip, color="#222", lw=1.3, label="hip angle")
        lines = hip_lines(profile)  # the same lines as the web app's chart and the gauges
        # gids name the lines in the SVG, so a browser test can read where they were drawn
        ax.axhline(180.0, color="#2e7d32", lw=0.8, ls="-.", label="straight line 180", gid="line-straight")
        if lines["lockout"] is not None:
            ax.axhline(lines["lockout"], color="#e0a800", lw=1.2, ls="--", label="lockout line",
                       gid="line-lockout")
        if lines["overextension"] is not None:
            ax.axhline(lines["overextension"], color=FAULT_COLOUR, lw=0.8, ls=":", label="overextension",
                       gid="line-overextension")
        ax.set_ylabel("hip angle (deg)", fontsize=8)
    elif readable:  # the movement still shows its reps; the number is not the joint's
        ax.plot(t, hip, color="#888", lw=1.3, label="the model's hip reading (not the joint angle here)")
        ax.set_ylabel("model reading (deg)", fontsize=8)
    else:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            "hip angle not readable from this camera view: reps and faults only",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="#666",
        )
    ys = np.interp(key_times, t, np.where(np.isfinite(hip), hip, np.nanmedian(hip))) if readable else None
    for n, (fault, when) in enumerate(zip(analysis.faults, key_times, strict=True), start=1):
        ax.axvspan(fault.start_s, fault.end_s, color=FAULT_COLOUR, alpha=0.12, lw=0)
        y = ys[n - 1] if ys is not None else 0.5
        ax.plot(
            [when],
            [y],
            marker="v",
            color=FAULT_COLOUR,
            ms=7,
            ls="none",
            transform=ax.transData if ys is not None else ax.get_xaxis_transform(),
        )
        ax.annotate(
            f"F{n}",
            (when, y),
            xytext=(0, 10),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color=FAULT_COLOUR,
            xycoords="data" if ys is not None else ax.get_xaxis_transform(),
        )
    ax.set_xlim(0, max(analysis.duration_s, 1e-3))
    ax.set_xlabel("time (s)", fontsize=8)
    if readable:
        ax.legend(fontsize=7, loc="lower right", frameon=False, ncol=3)
    return _svg(fig, "hip")


def tempo_plot(report: Report) -> str:
    """Per rep, one bar split into its phases (up, top pause, down, bottom pause), in seconds."""
    reps = report.reps
    fig, ax = _figure(0.25 * max(len(reps), 1) + 0.45)
    keys = (("up_s", "up"), ("top_pause_s", "top"), ("down_s", "down"), ("bottom_pause_s", "bottom"))
    y = np.arange(len(reps))
    left = np.zeros(len(reps))
    for key, phase in keys:
        secs = np.array([getattr(r, key) or 0.0 for r in reps], dtype=float)
        ax.barh(y, secs, left=left, color=PHASE_COLOURS[phase], height=0.62, label=phase)
        for yi, x0, s in zip(y, left, secs, strict=True):
            if s >= 0.25:
                ax.text(x0 + s / 2, yi, f"{s:.1f}", ha="center", va="center", fontsize=7, color="white")
        left += secs
    ax.set_yticks(y, [f"rep {r.rep}" for r in reps])
    ax.invert_yaxis()
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("seconds", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", frameon=False, ncol=4, bbox_to_anchor=(1.0, 1.0))
    return _svg(fig, "tempo")


def speed_plot(report: Report) -> str:
    """Per rep, the hips' mean (bar) and peak (dot) concentric speed in m/s: velocity loss at a glance."""
    reps = [r for r in report.reps if r.speed and r.speed.mean_mps is not None]
    fig, ax = _figure(1.7)
    x = np.arange(len(reps))
    ax.bar(x, [r.speed.mean_mps for r in reps], color="#4c8bf5", width=0.6, label="mean")
    ax.plot(x, [r.speed.peak_mps for r in reps], "o", color="#1a56c4", ms=4, label="peak")
    for xi, r in zip(x, reps, strict=True):
        ax.text(xi, r.speed.mean_mps / 2, f"{r.speed.mean_mps:.2f}", ha="center", fontsize=7, color="white")
    ax.set_xticks(x, [f"rep {r.rep}" for r in reps])
    ax.set_ylabel("hip speed up (m/s)", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", frameon=False, ncol=2, bbox_to_anchor=(1.0, 1.0))
    return _svg(fig, "speed")


def pelvis_plot(analysis: Analysis) -> str:
    """Pelvis roll and obliquity per frame (+ = left hip lower / nearer the head), rep tops shaded;
    empty when the view measures neither."""
    series = analysis.pelvis.series if analysis.pelvis else None
    lines = [(x, name, colour) for x, name, colour in (
        (series.roll if series else None, "roll (+ left hip lower)", "#1a56c4"),
        (series.obliquity if series else None, "obliquity (+ left hip toward the head)", "#e07000"),
    ) if x is not None and np.isfinite(x).any()]
    if not lines:
        return ""
    fig, ax = _figure(2.0)
    for rep in analysis.reps:
        ax.axvspan(rep.top_start_s, rep.top_end_s, color="#e0a800", alpha=0.22, lw=0)
        ax.text(0.5 * (rep.top_start_s + rep.top_end_s), 1.0, f"top {rep.index}", fontsize=7,
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", color="#8a6500")
    for x, name, colour in lines:
        ax.plot(analysis.timestamps, x, color=colour, lw=1.2, label=name)
    ax.axhline(0.0, color="#888", lw=0.6)
    ax.set_ylabel("deg, hip line vs shoulder line", fontsize=8)
    ax.set_xlim(0, max(analysis.duration_s, 1e-3))
    ax.set_xlabel("time (s)", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", frameon=False, ncol=2)
    return _svg(fig, "pelvis")


# ------------------------------------------------------------------ the page


def _fmt(x: Any, nd: int = 1, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{nd}f}{unit}"


@functools.cache  # one per process: compiling the template took ~0.1 s of each page
def _environment() -> Any:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("formcheck", "templates"),
        autoescape=True,  # every value is escaped unless marked safe (only our own SVG is)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["label"] = label
    return env


def render_html(
    report: Report,
    analysis: Analysis,
    profile: Profile,
    images: list[str] | None = None,
    images_note: str = NO_PICTURES,
) -> str:
    """The page as a string. images: a data: URI per fault (from key_frames), or None without video."""
    key_times = [float(analysis.timestamps[key_frame_index(f, analysis)]) for f in analysis.faults]
    faults = [
        {
            **f.model_dump(),
            "n": n,
            "label": label(f.code),
            "image": (images[n - 1] if images else ""),
            "key_s": key_times[n - 1],
            "which": _which(f),
        }
        for n, f in enumerate(report.faults, start=1)
    ]
    context = {
        "d": report,
        "name": Path(report.source).name or "pose track",
        "faults": faults,
        "images_note": "" if images is not None else images_note,
        "checklist": checklist(report, profile),
        "hip_svg": Markup(hip_plot(analysis, profile, key_times)),
        "tempo_svg": Markup(tempo_plot(report)) if report.reps else "",
        "speed_svg": Markup(speed_plot(report)) if any(r.speed and r.speed.mean_mps for r in report.reps)
        else "",
        "pelvis_svg": Markup(pelvis_plot(analysis)),
        "lockout": hip_lines(profile)["lockout"],
        "overextension": hip_lines(profile)["overextension"],
        "angles_readable": report.angles_readable,
        "several_sets": len(report.sets) > 1,
        "rep_ranges": rep_ranges(report, profile),
    }
    return _environment().get_template("report.html.j2").render(**context)


def rep_ranges(report: Report, profile: Profile) -> list[dict[str, Any]]:
    """The guide's rep ranges, each marked when the report names it as a goal of the set (or a set)."""
    named = set(report.summary.rep_range_goals) | {g for s in report.sets for g in s.rep_range_goals}
    texts = [rep_goals(r["min"], [r])[0] for r in profile.rep_ranges]  # worded as the report words them
    return [{"text": t, "hit": t in named} for t in texts]


def _which(fault: FaultReport) -> str:
    reps = fault.covered
    return f"reps {reps[0]}–{reps[-1]}" if len(reps) > 1 else f"rep {reps[0]}"


def write_html(
    path: str | Path,
    report: Report,
    analysis: Analysis,
    profile: Profile,
    track: PoseTrack | None = None,
    clip: str | Path | None = None,
    frames: ClipFrames | None = None,
) -> None:
    """Render and write atomically. Key frames need the clip (or its frames, see frames.py) and
    its track."""
    pictures = (clip is not None or frames is not None) and track is not None
    images = key_frames(clip, track, analysis, profile, frames=frames) if pictures else None
    atomic_write_text(path, render_html(report, analysis, profile, images))
