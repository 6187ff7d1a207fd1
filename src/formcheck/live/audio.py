"""Optional audio cues, offline: spoken by eSpeak NG, or tones made here; played on a thread.

Speech is synthesised by the `espeak-ng` (or `espeak`) program to WAV and played, like the
tones, through the first player that works: the `sounddevice` module (PortAudio), then `aplay`,
`paplay` or `pw-play`. Nothing is fetched. Anything missing or failing ends the sound with one
clear message; the session carries on.
"""

from __future__ import annotations

import contextlib
import io
import queue
import shutil
import subprocess
import threading
import wave
from collections.abc import Callable

import numpy as np

from .cues import Cue

RATE = 22050
MODES = ("speech", "tone")
TONES = {  # (frequency Hz, seconds) notes
    "chime": ((660.0, 0.09), (880.0, 0.14)),
    "alert": ((440.0, 0.16), (0.0, 0.06), (440.0, 0.16)),
    "go": ((880.0, 0.25),),
}
Player = Callable[[bytes], None]  # plays one WAV file's bytes, blocking; raises on failure


class AudioUnavailable(Exception):
    """Why sound cannot be played here (the text is shown to the user)."""


def tone_wav(name: str) -> bytes:
    notes = TONES.get(name, TONES["chime"])
    parts = []
    for freq, secs in notes:
        t = np.arange(int(RATE * secs)) / RATE
        fade = np.minimum(1.0, np.minimum(t, secs - t) / 0.01)  # no clicks at the edges
        parts.append(0.4 * np.sin(2 * np.pi * freq * t) * fade)
    return _wav(np.concatenate(parts))


def _wav(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def speech_synth() -> Callable[[str], bytes]:
    """Text -> WAV bytes through eSpeak NG; raises AudioUnavailable when it is not installed."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise AudioUnavailable("spoken cues need eSpeak NG (Debian/Ubuntu: apt-get install espeak-ng)")

    def synth(text: str) -> bytes:
        done = subprocess.run([exe, "--stdout", "-s", "165", text], capture_output=True, timeout=10)
        if done.returncode != 0 or not done.stdout:
            raise AudioUnavailable(f"{exe} failed: {_first_line(done.stderr)}")
        return done.stdout

    return synth


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no output"


def find_player() -> Player:
    """The first way to play a WAV that exists here; raises AudioUnavailable if none."""
    try:
        import sounddevice as sd

        sd.query_devices(kind="output")  # raises without an output device
    except Exception:  # no PortAudio library, or no output device
        pass
    else:
        return _sounddevice_player(sd)
    for cmd in (["aplay", "-q", "-"], ["paplay"], ["pw-play", "-"]):
        if shutil.which(cmd[0]):
            return _command_player(cmd)
    raise AudioUnavailable(
        "no way to play sound: no output device for PortAudio and no aplay, paplay or pw-play"
        " (Debian/Ubuntu: apt-get install alsa-utils)"
    )


def _sounddevice_player(sd) -> Player:  # noqa: ANN001 - the module
    def play(data: bytes) -> None:
        with wave.open(io.BytesIO(data)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            sd.play(pcm, w.getframerate(), blocking=True)

    return play


def _command_player(cmd: list[str]) -> Player:
    def play(data: bytes) -> None:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
        if done.returncode != 0:
            raise AudioUnavailable(f"{cmd[0]} failed: {_first_line(done.stderr)}")

    return play


class AudioOut:
    """Says or sounds cues on its own thread; never blocks the session. At most a couple of
    cues wait: an old cue is dropped rather than said late."""

    def __init__(
        self,
        mode: str,
        on_problem: Callable[[str], None],
        player: Player | None = None,
        synth: Callable[[str], bytes] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"audio mode {mode!r}: expected one of {MODES}")
        self.mode = mode
        self.on_problem = on_problem
        self.enabled = True
        self.played = 0
        self._queue: queue.Queue[Cue | None] = queue.Queue(maxsize=2)
        try:
            self._synth = synth if synth is not None or mode == "tone" else speech_synth()
            self._player = player if player is not None else find_player()
        except AudioUnavailable as exc:
            self._disable(str(exc))
        self._thread = threading.Thread(target=self._run, name="formcheck-live-audio", daemon=True)
        if self.enabled:
            self._thread.start()

    def _disable(self, why: str) -> None:
        if self.enabled:
            self.enabled = False
            self.on_problem(f"audio off: {why}; the session goes on without sound")

    def say(self, cue: Cue) -> None:
        if not self.enabled or not (cue.speak or cue.sound):
            return
        with contextlib.suppress(queue.Full):  # a cue said late is worse than one not said
            self._queue.put_nowait(cue)

    def _sound_for(self, cue: Cue) -> bytes | None:
        if self.mode == "speech" and cue.speak:
            return self._synth(cue.text)
        return tone_wav(cue.sound) if cue.sound else None

    def _run(self) -> None:
        while True:
            cue = self._queue.get()
            if cue is None or not self.enabled:
                return
            try:
                data = self._sound_for(cue)
                if data:
                    self._player(data)
                    self.played += 1
            except Exception as exc:  # a player or synth failing mid-session: report once, go quiet
                self._disable(
                    str(exc) if isinstance(exc, AudioUnavailable) else f"{type(exc).__name__}: {exc}"
                )
                return

    def close(self) -> None:
        if self.enabled:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                self.enabled = False
            self._thread.join(timeout=2.0)
