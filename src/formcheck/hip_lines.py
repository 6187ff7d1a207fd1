"""The lockout and overextension lines: the calibrated top hip angles every check, plot, gauge and
chart draws and judges against (180 = the straight shoulder-hip-knee line)."""

from __future__ import annotations

from .fault_rules import IncompleteLockoutRule, OverextensionRule
from .profiles import Profile


def lockout_limit(profile: Profile) -> float:
    """Lowest calibrated top hip angle that still counts as the straight line (180 = straight)."""
    rule = profile.rule(IncompleteLockoutRule)
    return rule.anatomical_target_deg - rule.tolerance_deg


def overextension_limit(profile: Profile) -> float:
    """Highest calibrated top hip angle before it counts as arching past the line."""
    rule = profile.rule(OverextensionRule)
    return rule.anatomical_limit_deg + rule.tolerance_deg


def hip_lines(profile: Profile) -> dict[str, float | None]:
    """The lockout and overextension lines every surface draws (None where the check is off)."""
    return {
        "lockout": lockout_limit(profile) if profile.fault("incomplete_lockout").enabled else None,
        "overextension": overextension_limit(profile) if profile.fault("overextension").enabled else None,
    }
