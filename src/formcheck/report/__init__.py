"""The report of one analysed clip: a typed model, built from an Analysis, rendered as JSON, CSV
and terminal text (HTML, the web app and live mode render from the same model)."""

from .build import build_report, rep_goals
from .model import REPORT_SCHEMA, FaultReport, Report, RepReport, ScoreReport, SetReport, Summary
from .render import CSV_COLUMNS, render_text, to_csv, write_csv, write_json

__all__ = [
    "CSV_COLUMNS",
    "REPORT_SCHEMA",
    "FaultReport",
    "RepReport",
    "Report",
    "ScoreReport",
    "SetReport",
    "Summary",
    "build_report",
    "render_text",
    "rep_goals",
    "to_csv",
    "write_csv",
    "write_json",
]
