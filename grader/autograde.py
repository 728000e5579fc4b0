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

import multiprocessing
import os
import re
import sqlite3
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec,
                                    SaveAutoGrades)
from sqlalchemy.exc import SAWarning
from tqdm.auto import tqdm
from traitlets.config import Config

from grader.execute import SandboxedExecute, write_faults
from grader.preprocessors import KeepOneCopyPerGradeId, RestoreDeletedCells
from grader.release import Course, ReleaseError, copy_source, generate, load_config
from grader.sandbox import Limits, SandboxUnavailable, probe
from grader.submissions import collect, stage

BUSY_TIMEOUT_S = 120
EXCEPTION_LINE = re.compile(r"^\s*[\w.]*(?:Error|Exception)\b[^\n]*", re.MULTILINE)


@dataclass(frozen=True)
class GradingCourse(Course):
    """The course (``solutions/``, ``labs/``) and the folder holding the instructor's state."""

    state: Path  # gradebook.db, submitted/, autograded/, feedback/

    @property
    def gradebook(self) -> Path:
        return self.state / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}?timeout={BUSY_TIMEOUT_S}"

    @property
    def submitted(self) -> Path:
        return self.state / "submitted"

    @property
    def autograded(self) -> Path:
        return self.state / "autograded"

    @property
    def feedback(self) -> Path:
        return self.state / "feedback"

    def config(self) -> Config:
        """The course's nbgrader configuration, pointed at this state folder."""
        return load_config(root=str(self.root), db_url=self.db_url, submitted_directory=str(self.submitted),
                           autograded_directory=str(self.autograded), feedback_directory=str(self.feedback))


@dataclass(frozen=True)
class Outcome:
    """How one student's grading went (scores are read from the gradebook afterwards)."""

    student: str
    problem: str | None = None  # why it could not be graded at all


def pipeline_config(course: GradingCourse, limits: Limits, strict: bool) -> Config:
    """nbgrader's autograde pipeline with this course's steps in it."""
    config = course.config()
    config.Autograde.sanitize_preprocessors = [ClearOutput, KeepOneCopyPerGradeId, RestoreDeletedCells,
                                               OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    config.SandboxedExecute.limits = limits
    config.SandboxedExecute.strict = strict
    return config


def ensure_lab_in_gradebook(course: GradingCourse, lab: str) -> None:
    """Record ``lab`` in the gradebook (as ``release`` does) if this course folder has never seen it."""
    course.state.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_assignment(lab)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory(prefix="grader-release-") as scratch:
        copy_source(course.solutions, lab, Path(scratch))
        generate(lab, Path(scratch), course.db_url)
    with sqlite3.connect(course.gradebook) as connection:  # readers never block the one writer
        connection.execute("PRAGMA journal_mode=WAL")


def grade_one(course: GradingCourse, lab: str, student: str, limits: Limits, strict: bool) -> Outcome:
    """Autograde one student's staged submission with nbgrader (runs in a worker process)."""
    # nbgrader's own autograde trips SQLAlchemy's "not in session" warning on every submission: noise here.
    warnings.filterwarnings("ignore", category=SAWarning)
    api = NbGraderAPI(config=pipeline_config(course, limits, strict))
    result = api.autograde(lab, student)
    if result["success"]:
        return Outcome(student)
    text = "\n".join(filter(None, (result.get("log"), result.get("error"))))
    return Outcome(student, f"nbgrader could not grade it ({_root_cause(text)}): regrade it alone with --student "
                            f"{student}; if that fails too, its nbgrader cell metadata is likely damaged")


def _root_cause(log: str) -> str:
    """The first exception nbgrader's log names, rather than its closing 'see the above traceback'."""
    causes = [m.group(0).strip() for m in EXCEPTION_LINE.finditer(log) if "NbGraderException" not in m.group(0)]
    return causes[0][:160] if causes else "no reason given"


def explain(course: GradingCourse, lab: str, student: str, reason: str, *, zero: bool) -> None:
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


def autograde(course: GradingCourse, source: Path, lab: str, *, jobs: int | None = None, student: str | None = None,
              limits: Limits = Limits(), strict: bool = False, progress: bool = True) -> Report:
    """Grade every submission of ``lab`` in ``source`` (or only ``student``'s) and return a report."""
    if lab not in course.source_labs():
        raise ReleaseError(f"no lab {lab!r}; labs in solutions/: {', '.join(course.source_labs())}")
    isolation = probe()
    if strict and isolation.missing:
        raise SandboxUnavailable(f"--sandbox strict: {isolation.describe()}")
    started = time.perf_counter()
    submissions, skipped = collect(source, lab)
    if student is not None:
        submissions = [s for s in submissions if s.student == student]
        if not submissions:
            raise ReleaseError(f"no submission of {lab} by {student!r} in {source}")
    ensure_lab_in_gradebook(course, lab)
    stage(submissions, course.submitted, lab)
    problems = {s.student: reason for s in submissions if (reason := s.problem())}
    for name, reason in problems.items():
        explain(course, lab, name, reason, zero=True)
    runnable = [s.student for s in submissions if s.student not in problems]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(runnable) or 1))
    limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // jobs))
    for outcome in _run_pool(course, lab, runnable, jobs, limits, strict, progress):
        if outcome.problem:
            problems[outcome.student] = outcome.problem
            explain(course, lab, outcome.student, outcome.problem, zero=False)
    graded = [s.student for s in submissions]
    return Report(graded, problems, skipped, time.perf_counter() - started)


def _run_pool(course: GradingCourse, lab: str, students: list[str], jobs: int, limits: Limits, strict: bool,
              progress: bool):
    """Yield one Outcome per student; a crashed worker costs a retry, never the other students' grades."""
    attempts = dict.fromkeys(students, 0)
    pending = list(students)
    context = multiprocessing.get_context("spawn")  # workers start clean: no inherited threads or handles
    with tqdm(total=len(students), desc=f"grading {lab}", unit="notebook", disable=not progress) as bar:
        while pending:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = {pool.submit(grade_one, course, lab, name, limits, strict): name for name in pending}
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
