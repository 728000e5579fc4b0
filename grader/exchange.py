"""The course through nbgrader's exchange: hand a lab out, collect what students submitted, return feedback.

On a class hub (``deploy/``) students fetch, submit and fetch feedback from JupyterLab's
Assignments tab; each of those moves files through nbgrader's exchange, a shared folder
(``c.Exchange.root``; the hub sets it for everyone with ``MSL_EXCHANGE``). This module is
the instructor's side of the same three moves, done by nbgrader's own exchange classes so
that both sides agree on the layout, the permissions and the timestamps:

- :func:`hand_out` copies ``labs/<lab>`` to the exchange's outbound folder (``release_assignment``),
  and records the lab, with its due date, in the gradebook;
- :func:`collect` copies each student's latest submission into the course's ``submitted/``
  (``collect``), with the ``timestamp.txt`` that nbgrader's late-submission penalty reads;
- :func:`return_feedback` puts each student's report where only that student's Fetch Feedback
  finds it (``release_feedback``: named by a hash of the submission's secret).
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.exchange.default import Exchange
from nbgrader.utils import parse_utc

from grader.errors import GraderError, root_cause
from grader.layout import Course

log = logging.getLogger(__name__)
# What nbgrader's submit leaves beside a submission: when it was submitted, and the secret that names its feedback.
SUBMISSION_RECORDS = ("timestamp.txt", "submission_secret.txt")


class ExchangeError(GraderError):
    """nbgrader's exchange refused a step (no exchange folder, a lab handed out already, nothing released)."""


def api(course: Course) -> NbGraderAPI:
    """nbgrader's API over the course, its exchange where the course's configuration puts it."""
    return NbGraderAPI(config=course.config())


def exchange_root(course: Course) -> Path:
    """The exchange folder (``c.Exchange.root``) that nbgrader's default exchange uses for this course."""
    return Path(Exchange(config=course.config()).root)


def hand_out(course: Course, lab: str, *, due: str | None = None, replace: bool = False) -> Path:
    """Copy the released ``labs/<lab>`` to the exchange, where students fetch it; return its outbound folder.

    ``due`` (an ISO date and time, UTC unless it names its zone) is stored as the lab's due date in
    the gradebook: nbgrader marks later submissions late and applies the course's
    ``LateSubmissionPlugin.penalty_method``. ``replace`` hands out a corrected lab again.
    """
    from grader.autograde import ensure_lab_in_gradebook  # the gradebook's record of a lab, as autograde makes it

    course.require_labs([lab])
    if not (course.labs / lab).is_dir():
        raise ExchangeError(f"labs/{lab} does not exist: run `python -m grader release {lab}` first")
    root = exchange_root(course)
    if not root.is_dir():
        raise ExchangeError(
            f"the exchange {root} does not exist: create it (mode 1777) or set MSL_EXCHANGE (deploy/README.md)"
        )
    ensure_lab_in_gradebook(course, lab)
    if due is not None:
        set_due_date(course, lab, due)
    config = course.config()
    config.ExchangeReleaseAssignment.force = replace
    result = NbGraderAPI(config=config).release_assignment(lab)
    _require(result, f"hand out {lab}", hint="add --replace to hand out a corrected lab again")
    return root / config.CourseDirectory.course_id / "outbound" / lab


def set_due_date(course: Course, lab: str, due: str) -> datetime:
    try:
        when = parse_utc(due)
    except (ValueError, OverflowError) as error:
        raise ExchangeError(f"--due {due!r} is not a date and time: write it like 2026-12-09T17:00") from error
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_assignment(lab, duedate=when)
    return when


def collect(course: Course, lab: str) -> Path:
    """Copy every student's latest submission of ``lab`` from the exchange into the course's ``submitted/``.

    A submission newer than the one collected before replaces it; its ``timestamp.txt`` and
    ``submission_secret.txt`` come along (late penalties and feedback read them).
    """
    course.require_labs([lab])
    result = api(course).collect(lab, update=True)
    _require(result, f"collect {lab}", hint=f"hand it out first: python -m grader handout --lab {lab}")
    return course.submitted


def return_feedback(course: Course, lab: str, reports: list[Path]) -> int:
    """Release the written reports of ``lab`` to the exchange; return how many students can now fetch theirs.

    A report returns only to the submission it was written for: nbgrader names it by a hash of that
    submission's secret, so the records of the graded submission are put beside each report.
    """
    returned = 0
    for report in reports:
        student = report.parent.parent.name
        records = course.submitted / student / lab
        if not all((records / name).is_file() for name in SUBMISSION_RECORDS):
            log.warning("%s: not submitted through the exchange, so there is no one to return feedback to", student)
            continue
        for name in SUBMISSION_RECORDS:
            shutil.copy2(records / name, report.parent / name)
        returned += 1
    if returned:
        _require(api(course).release_feedback(lab), f"return feedback for {lab}", hint="write it first")
    return returned


def _require(result: dict, step: str, *, hint: str) -> None:
    log.debug("nbgrader %s:\n%s", step, result.get("log", ""))
    if not result["success"]:
        raise ExchangeError(f"nbgrader could not {step} ({root_cause(result)}): {hint}")
