"""Progress of a batch: a tqdm bar with an ETA on a terminal, one line per clip elsewhere."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from tqdm import tqdm


class Progress:
    """A tqdm bar with ETA on a terminal; elsewhere (logs, CI) one line per clip with an ETA.

    Clips count by their expected work (seconds of video for the model, a token amount for a
    cached track), so the ETA holds although the longest clips go first."""

    def __init__(self, weights: dict[str, float], mode: str = "auto") -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode, self.weights = mode, weights
        self.total, self.total_weight = len(weights), sum(weights.values())
        self.done, self.done_weight = 0, 0.0
        self.start = time.monotonic()
        self.bar = None
        if mode == "bar" and self.total:
            self.bar = tqdm(
                total=self.total_weight,
                file=sys.stderr,
                dynamic_ncols=True,
                smoothing=0.2,
                bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]",
            )

    def update(self, row: dict[str, Any]) -> None:
        weight = self.weights.get(row["clip"], 0.0)
        self.done += 1
        self.done_weight += weight
        what = f"{row['clip']}: {row['status']}"
        if row["status"] != "failed":
            what += f", {row['reps']} reps, score {row['score']}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.done}/{self.total} clips, {what[-50:]}", refresh=False)
            self.bar.update(weight)
        elif self.mode == "lines":
            elapsed = time.monotonic() - self.start
            left = self.total_weight - self.done_weight
            eta = elapsed * left / self.done_weight if self.done_weight > 0 else float("nan")
            print(f"[{self.done}/{self.total}] {what} ({row['seconds']} s; elapsed {_clock(elapsed)},"
                  f" ETA {_clock(eta)})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
