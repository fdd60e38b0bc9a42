"""User-facing errors.

Anything the user can fix (a missing file, a bad column, an unknown label, a clash of shapes)
is raised as :class:`TinyBertError` with a one-line message naming the file, line or option and
what was expected. The CLI prints that line and exits with status 2, never a stack trace.
"""

from __future__ import annotations


class TinyBertError(Exception):
    """An error caused by the user's input, reported as one line."""
