"""Golden reports: `formcheck analyze CLIP --json` of every rendered sample clip and every labelled
real clip, pinned field by field, so a restructure cannot change a report without saying so.

Each golden file (tests/golden/<folder>/<clip>.json) holds the exit code and the JSON report of
`formcheck analyze CLIP --json F --workers 2` (a fixed worker count: the shares of the clip the
model runs on are part of what determines a track). Compared field by field: integers, booleans,
keys and list lengths exactly; decimals within a small tolerance (the pose model's float maths may
differ in the last bits between CPUs); text exactly, except the numbers inside it, which get the
same tolerance. `source` is compared by file name and version fields are ignored.

An intended change of the reports: regenerate with

    FORMCHECK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py

and name the change in the commit message (`git diff tests/golden` shows it).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_VIDEOS, SHARED_VIDEOS_NEW, missing_data

from formcheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "sample_videos"
UPDATE = os.environ.get("FORMCHECK_UPDATE_GOLDEN", "") == "1"
ABS_TOL, REL_TOL = 0.25, 0.002
IGNORED = frozenset({"formcheck_version", "seconds", "job_seconds", "finished_at"})
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _labelled(folder: Path) -> list[str]:
    labels = folder / "labels.csv"
    if not labels.exists():
        return []
    with open(labels, newline="", encoding="utf-8") as fh:
        return [row["clip"] for row in csv.DictReader(fh)]


def _cases() -> list:
    cases = [pytest.param("sample_videos", p, id=f"sample/{p.stem}") for p in sorted(SAMPLES.glob("*.mp4"))]
    for group, folder in (("videos", SHARED_VIDEOS), ("videos_new", SHARED_VIDEOS_NEW)):
        names = _labelled(folder)
        if not names:  # the test below fails under CI=true, skips on a laptop
            cases.append(pytest.param(group, folder / "labels.csv", id=f"{group}/labels-missing"))
        cases += [pytest.param(group, folder / n, id=f"{group}/{Path(n).stem}") for n in names]
    return cases


def analyze_json(clip: Path, tmp_path: Path) -> dict[str, Any]:
    """What a user gets from `formcheck analyze CLIP --json`: the exit code and the report."""
    out = tmp_path / "report.json"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["analyze", str(clip), "--json", str(out), "--workers", "2", "-q"])
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    if report is not None:
        report["source"] = Path(report["source"]).name
    lines = err.getvalue().strip().splitlines()
    return {"exit_code": code, "error": lines[-1] if code and lines else None, "report": report}


def differences(want: Any, got: Any, where: str = "") -> list[str]:
    """Every place where `got` differs from `want` beyond the tolerances (empty: the same)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: missing" for k in want.keys() - got.keys() if k not in IGNORED]
        out += [f"{where}.{k}: unexpected" for k in got.keys() - want.keys() if k not in IGNORED]
        for k in want.keys() & got.keys():
            if k not in IGNORED:
                out += differences(want[k], got[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(got)} items, golden has {len(want)}"]
        pairs = enumerate(zip(want, got, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{where}[{i}]")]
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(want, bool | str) or isinstance(got, bool | str) or want is None or got is None:
            return [] if want == got else [f"{where}: {got!r}, golden {want!r}"]
        return [] if _close(want, got) else [f"{where}: {got}, golden {want}"]
    if isinstance(want, str) and isinstance(got, str):
        return [] if _same_text(want, got) else [f"{where}: {got!r}, golden {want!r}"]
    return [] if want == got and type(want) is type(got) else [f"{where}: {got!r}, golden {want!r}"]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _same_text(a: str, b: str) -> bool:
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    na, nb = _NUMBER.findall(a), _NUMBER.findall(b)
    return all(x == y or ("." in x + y and _close(float(x), float(y))) for x, y in zip(na, nb, strict=True))


@pytest.mark.parametrize(("group", "clip"), _cases())
def test_report_matches_its_golden(group: str, clip: Path, tmp_path: Path) -> None:
    if not clip.exists():
        missing_data(f"{clip} not found")
    golden = GOLDEN / group / f"{clip.name}.json"
    got = analyze_json(clip, tmp_path)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    assert golden.exists(), f"no golden report for {clip.name}: regenerate (see this module's docstring)"
    found = differences(json.loads(golden.read_text(encoding="utf-8")), got)
    head = f"{clip.name}: {len(found)} differences from its golden report:\n"
    assert not found, head + "\n".join(found[:40])


def test_differences_sees_what_matters() -> None:
    base = {"reps": [{"top": 187.5, "n": 3, "msg": "held 0.40 s"}], "formcheck_version": "1"}
    assert differences(base, json.loads(json.dumps(base))) == []
    assert differences(base, {**base, "formcheck_version": "2"}) == []
    near = {"reps": [{"top": 187.6, "n": 3, "msg": "held 0.41 s"}]}
    assert differences(base, near) == []
    assert differences(base, {"reps": [{"top": 189.0, "n": 3, "msg": "held 0.40 s"}]})
    assert differences(base, {"reps": [{"top": 187.5, "n": 4, "msg": "held 0.40 s"}]})
    assert differences(base, {"reps": [{"top": 187.5, "n": 3, "msg": "held 0.40 s!"}]})
    assert differences(base, {"reps": [{"top": 187.5, "n": 3, "msg": "held 0.90 s"}]})
    assert differences(base, {"reps": []})
    assert differences(base, {"reps": [{"top": 187.5, "n": 3}]})
