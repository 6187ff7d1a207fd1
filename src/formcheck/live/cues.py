"""What the lifter is told, and when: useful, not nagging.

- A rep's faults are cued when its verdict is given, the worst first; a fault cued within the
  last `quiet_reps` reps is not cued again (the rep still shows it, silently), so a lifter
  who keeps missing the lockout hears it every few reps, not on every one.
- A good rep gets a brief "Good rep" and a chime; the first good rep after a cued fault gets
  "Better" (the fix worked).
- A correction (a later analysis, or the set's report, changed a rep's faults after its
  verdict, or no longer counts the rep) is always said, whatever was said lately: what the
  lifter was told must end equal to the report.
- Setup advice is said when it changes and has held for a moment, never more often than
  every few seconds; arming says "Go".
"""

from __future__ import annotations

from dataclasses import dataclass

from formcheck.findings import SEVERITIES, Fault
from formcheck.profiles import FAULT_CODES

from .online import Verdict
from .setup import SetupStatus

QUIET_REPS = 3
SETUP_STEADY_S = 1.0  # advice must hold this long before it is said
SETUP_GAP_S = 4.0  # at most one spoken setup line this often
HEADLINES = {  # a few words to say mid-set; the guide's own cue is shown under it
    "incomplete_lockout": "Finish the lockout",
    "overextension": "Don't arch past the line",
    "rushed_descent": "Slow the way down",
    "no_top_pause": "Pause at the top",
    "jerky_concentric": "Smooth drive",
    "inconsistent_depth": "Same depth every rep",
    "foot_placement": "Check your feet",
    "hip_rotation": "Keep your hips level",
    "knee_cave": "Knees out",
    "head_not_neutral": "Chin tucked",
    "load_drift": "Keep the load close",
    "leaning_back": "Finish tall, don't lean back",
    "fatigue_drift": "Form is fading",
    "short_rest": "Rest a bit longer",
}


@dataclass(frozen=True)
class Cue:
    t: float  # session time it was given
    kind: str  # fault, repeat, good, better, correction, setup, armed
    text: str  # the headline (what is said aloud)
    detail: str = ""  # the guide's cue, shown under it
    rep: int | None = None
    code: str | None = None
    speak: bool = True  # say it (audio on): False for silent marks
    sound: str | None = None  # "chime", "alert" or "go" for the tone mode

    def as_dict(self) -> dict:
        return {
            "t": round(self.t, 3),
            "kind": self.kind,
            "rep": self.rep,
            "code": self.code,
            "text": self.text,
            "detail": self.detail,
        }


def _rank(fault: Fault) -> tuple[int, int]:
    """Worst first: by severity, then the catalogue's order."""
    order = FAULT_CODES.index(fault.code) if fault.code in FAULT_CODES else len(FAULT_CODES)
    return (-SEVERITIES.index(fault.severity) if fault.severity in SEVERITIES else 0, order)


def pelvis_note(pelvis: str | None) -> str:
    """'; pelvis: no drop' / '; pelvis: right hip 9 deg lower' where the view measures it, else nothing."""
    return f"; pelvis: {pelvis}" if pelvis else ""


class CuePolicy:
    def __init__(self, quiet_reps: int = QUIET_REPS) -> None:
        self.quiet_reps = quiet_reps
        self.last_cued: dict[str, int] = {}  # code -> rep it was last cued on
        self._fault_pending = False  # the last verdict's fault was cued and not yet fixed
        self._setup_text: str | None = None
        self._setup_since = 0.0
        self._setup_said_at = -SETUP_GAP_S
        self._setup_said: str | None = None
        self._armed_said = False

    def on_verdict(self, verdict: Verdict, now: float) -> list[Cue]:
        rep = verdict.rep
        if not verdict.first:
            return [self._correction(verdict, now)]
        if not rep.codes:
            if self._fault_pending:
                self._fault_pending = False
                detail = f"rep {rep.number}: clean{pelvis_note(rep.pelvis)}"
                return [Cue(now, "better", "Better", detail, rep.number, sound="chime")]
            detail = f"rep {rep.number}{pelvis_note(rep.pelvis)}"
            return [Cue(now, "good", "Good rep", detail, rep.number, speak=False, sound="chime")]
        faults = sorted((f for f in rep.faults if f.code in verdict.new_codes), key=_rank)
        for fault in faults:
            last = self.last_cued.get(fault.code)
            if last is None or rep.number - last > self.quiet_reps:
                self.last_cued[fault.code] = rep.number
                self._fault_pending = True
                return [self._fault_cue(fault, rep.number, now)]
        if not faults:
            return []
        worst = faults[0]  # cued lately: shown, not said again
        text = f"{HEADLINES.get(worst.code, worst.code)} (again)"
        return [Cue(now, "repeat", text, worst.cue, rep.number, worst.code, speak=False)]

    def _correction(self, verdict: Verdict, now: float) -> Cue:
        rep = verdict.rep
        if verdict.withdrawn:
            text = f"Correction: rep {rep.number} did not count"
            return Cue(now, "correction", text, "a later look found no full rep there", rep.number)
        added = sorted((f for f in rep.faults if f.code in verdict.new_codes), key=_rank)
        now_faults = sorted(rep.faults, key=_rank)
        if added:
            worst = added[0]
            self.last_cued[worst.code] = rep.number
            self._fault_pending = True
            headline, detail, code = HEADLINES.get(worst.code, worst.code), worst.cue, worst.code
        else:
            headline = "clean after all" if not now_faults else HEADLINES.get(now_faults[0].code, "")
            detail = "no " + ", ".join(c.replace("_", " ") for c in verdict.removed)
            code = now_faults[0].code if now_faults else None
        text = f"Correction: rep {rep.number}: {headline}"
        return Cue(now, "correction", text, detail, rep.number, code, sound="alert" if added else "chime")

    @staticmethod
    def _fault_cue(fault: Fault, rep: int, now: float) -> Cue:
        headline = HEADLINES.get(fault.code, fault.code.replace("_", " "))
        return Cue(now, "fault", headline, fault.cue, rep, fault.code, sound="alert")

    def on_setup(self, status: SetupStatus, now: float) -> list[Cue]:
        if status.armed:
            if self._armed_said:
                return []
            self._armed_said = True
            return [Cue(now, "armed", "Go", "start position held: counting", sound="go")]
        top = next((a for a in status.advice if a.blocking), None) or (status.advice or (None,))[0]
        text = top.text if top is not None else None
        if text != self._setup_text:
            self._setup_text, self._setup_since = text, now
            return []
        steady = now - self._setup_since >= SETUP_STEADY_S
        due = now - self._setup_said_at >= SETUP_GAP_S
        if text is None or not steady or not due or text == self._setup_said:
            return []
        self._setup_said_at, self._setup_said = now, text
        return [Cue(now, "setup", text.split(":")[0], text, code=top.code if top else None)]
