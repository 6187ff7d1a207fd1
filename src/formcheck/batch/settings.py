"""What a clip's result depends on besides its bytes, and its fingerprints: a result or a cached
track is reused only when every one of them matches."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, pipeline
from ..cache import canonical_sha256, track_key
from ..io.video import MAX_PIXELS
from ..pose import find_model, sha256_file
from ..profiles import Profile, load_profile
from ..report import REPORT_SCHEMA
from ..variants import AUTO

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_SKIP = ("web", "live")  # packages whose code no batch result depends on


def code_sha256() -> str:
    """Fingerprint of the analysis code and the built-in profiles: a result scored by other code
    (an upgrade, a local edit, a cluster node with another install) is never taken for current."""
    h = hashlib.sha256()
    code = [p for p in PACKAGE_ROOT.rglob("*.py") if p.relative_to(PACKAGE_ROOT).parts[0] not in _SKIP]
    for p in sorted([*code, *PACKAGE_ROOT.glob("profiles/*.json")]):
        h.update(p.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class BatchSettings:
    """Everything a clip's result depends on besides its bytes."""

    variant: str  # "auto" (detected per clip), a built-in name, or a profile .json
    profile: Profile | None  # the named profile, carried to the workers; None for "auto"
    model_sha256: str
    model_path: str | None = None  # None: each machine finds the bundled model itself
    fps: float | None = None
    max_pixels: int = MAX_PIXELS
    code_sha256: str = ""
    every_frame: bool = False  # False: clips above 30 fps analysed at every k-th frame (pose.frame_stride)
    height_cm: float | None = None  # the athletes' stature for rep speed (one for the whole batch)

    @classmethod
    def create(
        cls,
        variant: str = "auto",
        model: str | Path | None = None,
        fps: float | None = None,
        max_pixels: int = MAX_PIXELS,
        every_frame: bool = False,
        height_cm: float | None = None,
    ) -> BatchSettings:
        """Raises ProfileError for an unknown variant, ModelNotFound for a missing model."""
        profile = None if variant == AUTO else load_profile(variant)
        model_sha = sha256_file(find_model(model))
        model_path = str(model) if model else None
        return cls(variant, profile, model_sha, model_path, fps, max_pixels, code_sha256(), every_frame,
                   height_cm)

    def pipeline(self) -> pipeline.Settings:
        """The clip's settings for the shared pipeline: one pose worker per clip (batch parallelism
        is per clip) tracking the clip's shares, which follow its length: the report `analyze` gives,
        whatever the number of jobs, cores or machines."""
        return pipeline.Settings(
            variant=self.profile or self.variant,
            model=self.model_path,
            pose_workers=1,
            fps=self.fps,
            max_pixels=self.max_pixels,
            every_frame=self.every_frame,
            height_cm=self.height_cm,
        )

    def extraction(self) -> dict[str, Any]:
        """How the model runs (the track cache key)."""
        return self.pipeline().extraction()

    def track_key(self, content_sha256: str) -> str:
        return track_key(content_sha256, self.model_sha256, self.extraction())

    @property
    def sha256(self) -> str:
        return canonical_sha256(
            {
                "formcheck": __version__,
                "code": self.code_sha256,
                "report": REPORT_SCHEMA,
                "variant": self.variant if self.profile is None else None,
                "profile": dataclasses.asdict(self.profile) if self.profile is not None else None,
                "model": self.model_sha256,
                "extraction": self.extraction(),
                "height_cm": self.height_cm,
            }
        )
