"""Errors whose message is the whole story: in a notebook they show as one plain line.

A deploy refused, a cell not saved, a step that failed before: the message names what is wrong
and what to do next; a traceback through gluelab's own code above it would bury that.
"""
from __future__ import annotations


class PlainError(Exception):
    def _render_traceback_(self) -> list[str]:  # IPython's hook for how an error is shown
        return [f"{type(self).__name__}: {self}"]
