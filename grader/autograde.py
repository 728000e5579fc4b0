"""Grade a lab's submissions in parallel, each in its own sandboxed kernel, into nbgrader's gradebook.

The pipeline is nbgrader's ``Autograde`` converter, configured at its seams:
its sanitizing steps gain :class:`grader.preprocessors.KeepOneCopyPerGradeId` (in place of
nbgrader's ``DeduplicateIds``) and :class:`grader.preprocessors.RestoreDeletedCells`,
and its ``Execute`` step is :class:`grader.execute.SandboxedExecute`. What this
module adds is around it: staging submissions, a pool of worker processes (one
student each at a time), a progress bar, and a summary. The gradebook is
nbgrader's SQLite file, so formgrader opens it for manual grading; workers
write to it one short transaction at a time (WAL mode, a generous busy timeout).
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import DeduplicateIds, Execute
from sqlalchemy.exc import SAWarning
from tqdm import tqdm  # the console bar: tqdm.auto would take the grader's own ipykernel for a notebook
from traitlets.config import Config, LazyConfigValue
from traitlets.utils.importstring import import_item

from grader import exchange
from grader.errors import GraderError, root_cause
from grader.execute import SandboxedExecute
from grader.faults import write_faults
from grader.layout import Course
from grader.preprocessors import KeepOneCopyPerGradeId, RestoreDeletedCells
from grader.release import copy_source, generate
from grader.sandbox import probe
from grader.submissions import collect, stage

log = logging.getLogger(__name__)
# The course's steps, each in the place of the nbgrader step it extends; every other step of the
# instructor's configured lists (nbgrader's defaults, or their own additions) runs as it is.
COURSE_STEPS = {DeduplicateIds: [KeepOneCopyPerGradeId, RestoreDeletedCells], Execute: [SandboxedExecute]}


class PipelineError(GraderError):
    """The configured autograde pipeline has no step the course's sandbox can take the place of."""


@dataclass(frozen=True)
class Outcome:
    """How one student's grading went (scores are read from the gradebook afterwards)."""

    student: str
    problem: str | None = None  # why it could not be graded at all
    log: str = ""  # nbgrader's log of the run, shown with --verbose


def pipeline_config(course: Course, overrides: Config | None = None) -> Config:
    """The course's nbgrader configuration, with ``overrides`` (the command line's) and the course's steps.

    nbgrader's ``Autograde`` runs two lists of preprocessors; each is taken as the instructor
    configured it in ``nbgrader_config.py`` (``c.Autograde.autograde_preprocessors.append(...)``
    adds a step, for plain nbgrader and this grader alike), and only nbgrader's
    ``DeduplicateIds`` and ``Execute`` are replaced by the course's own versions of them.
    """
    config = course.config()
    config.merge(overrides or Config())
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        steps = _configured(config, name)
        if name == "autograde_preprocessors" and not any(_step_class(s) is Execute for s in steps):
            raise PipelineError(
                "c.Autograde.autograde_preprocessors has no Execute step for the sandbox to run: "
                "keep nbgrader's Execute in that list"
            )
        setattr(config.Autograde, name, [new for step in steps for new in COURSE_STEPS.get(_step_class(step), [step])])
    return config


def _configured(config: Config, name: str) -> list:
    """A list setting of nbgrader's ``Autograde`` as the configuration leaves it (default, replaced or appended to)."""
    default = Autograde.class_traits()[name].default()
    value = config.Autograde.get(name, default)
    return value.get_value(default) if isinstance(value, LazyConfigValue) else list(value)


def _step_class(step) -> type:
    return import_item(step) if isinstance(step, str) else step


def ensure_lab_in_gradebook(course: Course, lab: str) -> None:
    """Record ``lab`` in the gradebook (as ``release`` does) if this course folder has never seen it."""
    course.state.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_assignment(lab)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory(prefix="grader-release-") as scratch:
        copy_source(course, lab, Path(scratch))
        generate(course.elsewhere(Path(scratch), state=course.state), lab)
    with sqlite3.connect(course.gradebook) as connection:  # readers never block the one writer
        connection.execute("PRAGMA journal_mode=WAL")


def grade_one(course: Course, lab: str, student: str, overrides: Config) -> Outcome:
    """Autograde one student's staged submission with nbgrader (runs in a worker process)."""
    # nbgrader's own autograde trips SQLAlchemy's "not in session" warning on every submission: noise here.
    warnings.filterwarnings("ignore", category=SAWarning)
    result = NbGraderAPI(config=pipeline_config(course, overrides)).autograde(lab, student)
    if result["success"]:
        return Outcome(student, log=result.get("log", ""))
    return Outcome(
        student,
        f"nbgrader could not grade it ({root_cause(result)}): regrade it alone with --student "
        f"{student}; if that fails too, its nbgrader cell metadata is likely damaged",
        log=result.get("log", ""),
    )


def explain(course: Course, lab: str, student: str, reason: str, *, zero: bool) -> None:
    """Keep why a submission was not graded normally; with ``zero``, score it 0 for every cell.

    A notebook that cannot be read earns 0. When the grader itself fails, an
    earlier grade stays as it was; a student seen for the first time gets 0s,
    so that every submission appears in exports.
    """
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_submission(lab, student)
            seen = True
        except MissingEntry:
            seen = False
        if zero or not seen:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(lab, student)
            for notebook in gradebook.find_submission(lab, student).notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False  # nothing was run, so there is nothing to grade by hand
            gradebook.db.commit()
    folder = course.autograded / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    write_faults(folder, [reason], probe().describe())


@dataclass(frozen=True)
class Report:
    """What ``autograde`` did, for the summary line and for tests."""

    graded: list[str]
    problems: dict[str, str]  # student -> why it scored only what it did (or nothing)
    skipped: list[str]
    seconds: float


def autograde(
    course: Course,
    source: Path | None,
    lab: str,
    *,
    jobs: int | None = None,
    student: str | None = None,
    overrides: Config | None = None,
    progress: bool = True,
) -> Report:
    """Grade every submission of ``lab`` in ``source`` (or only ``student``'s) and return a report.

    ``source`` is a folder or an LMS zip; None collects the submissions from nbgrader's exchange.

    ``overrides`` holds settings given on the command line (``SandboxedExecute`` limits, ``Execute.timeout``);
    they win over ``nbgrader_config.py``.
    """
    course.require_labs([lab])
    overrides = copy.deepcopy(Config(overrides or {}))  # the per-kernel thread count is added to a copy
    if pipeline_config(course, overrides).SandboxedExecute.get("strict", False):
        probe().require_all()
    started = time.perf_counter()
    ensure_lab_in_gradebook(course, lab)
    if source is None:  # nbgrader's collect stages them, with the timestamps that late penalties read
        submissions, skipped = collect(exchange.collect(course, lab), lab, student)
    else:
        submissions, skipped = collect(source, lab, student)
        stage(submissions, course.submitted, lab)
    problems = {s.student: reason for s in submissions if (reason := s.problem())}
    for name, reason in problems.items():
        explain(course, lab, name, reason, zero=True)
    runnable = [s.student for s in submissions if s.student not in problems]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(runnable) or 1))
    overrides.SandboxedExecute.kernel_threads = max(1, (os.cpu_count() or 1) // jobs)
    for outcome in _run_pool(course, lab, runnable, jobs, overrides, progress):
        log.debug("nbgrader autograde %s for %s:\n%s", lab, outcome.student, outcome.log)
        if outcome.problem:
            problems[outcome.student] = outcome.problem
            explain(course, lab, outcome.student, outcome.problem, zero=False)
    graded = [s.student for s in submissions]
    return Report(graded, problems, skipped, time.perf_counter() - started)


def _run_pool(
    course: Course, lab: str, students: list[str], jobs: int, overrides: Config, progress: bool
) -> Iterator[Outcome]:
    """Yield one Outcome per student; a crashed worker costs a retry, never the other students' grades."""
    attempts = dict.fromkeys(students, 0)
    pending = list(students)
    context = multiprocessing.get_context("spawn")  # workers start clean: no inherited threads or handles
    with tqdm(total=len(students), desc=f"grading {lab}", unit="notebook", disable=not progress) as bar:
        while pending:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = {pool.submit(grade_one, course, lab, name, overrides): name for name in pending}
                for future in as_completed(futures):
                    name = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        attempts[name] += 1
                        if attempts[name] < 2:
                            continue  # graded again with a fresh pool
                        outcome = Outcome(name, "a grading worker crashed twice while grading it")
                    except Exception as error:  # noqa: BLE001 -- one student's failure never stops the others
                        outcome = Outcome(name, f"the grader failed on it: {type(error).__name__}: {error}")
                    pending.remove(name)
                    bar.update()
                    yield outcome
