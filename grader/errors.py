"""The grader's one family of errors, and how a failed nbgrader step is told in one line.

Every condition an instructor can fix (a lab that does not exist, a damaged zip, a machine
without the sandbox they asked for) raises a subclass of :class:`GraderError`, defined in
the module whose job met it. ``python -m grader`` catches the base class and prints the
message, which says what to do; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

# A line of nbgrader's log that names an exception: ``ValueError: ...``, ``nbformat.x.SchemaTooOldError: ...``.
EXCEPTION_LINE = re.compile(r"^\s*[\w.]*(?:Error|Exception)\b[^\n]*", re.MULTILINE)
# nbgrader's own closing line ("NbGraderException: Please see the error log above") names no cause.
WRAPPER = "NbGraderException"
MAX_CAUSE = 160


class GraderError(Exception):
    """A condition the instructor can fix; the message says how."""


def root_cause(result: dict) -> str:
    """Why an ``NbGraderAPI`` call failed, in one line: the first exception its log names.

    nbgrader returns ``{"success": False, "log": ..., "error": ...}``; the log ends with a
    generic "see the error above", so the first real exception is the one to show. Without
    one, the last line said is the best there is.
    """
    text = "\n".join(filter(None, (result.get("log"), result.get("error"))))
    causes = [m.group(0).strip() for m in EXCEPTION_LINE.finditer(text) if WRAPPER not in m.group(0)]
    if causes:
        return causes[0][:MAX_CAUSE]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:MAX_CAUSE] if lines else "no reason given"
