"""Automated checks for the labs: `from checks import check, progress` in a notebook."""
from checks.runner import CheckFailed, check, check_for, progress

__all__ = ["CheckFailed", "check", "check_for", "progress"]
