"""What a benchmark should say about the machine it timed on."""

from __future__ import annotations

from pathlib import Path

AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


def scheduling_note() -> str | None:
    """A warning when the kernel groups processes by session (autogroup): then each shell's work gets
    an equal share of the cores whatever its nice value, so a `nice -n 19` job started elsewhere still
    takes half of a 2-core machine from the run (seen here: a niced test at 97% of a core against 25-33%
    for each of two busy loops at nice 0). None when it is off or cannot be read."""
    try:
        on = AUTOGROUP.read_text(encoding="ascii").strip() == "1"
    except OSError:
        return None
    if not on:
        return None
    return (
        "note: the kernel's autogroup scheduling is on (/proc/sys/kernel/sched_autogroup_enabled = 1):"
        " work from another shell takes its share of the cores even at nice 19; for clean figures run"
        " on an idle machine or, as root, write 0 there"
    )
