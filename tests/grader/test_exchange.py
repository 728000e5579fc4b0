"""A term through nbgrader's exchange, on the tiny lab: hand out, fetch, submit, collect, grade, return feedback.

The students' side is nbgrader's own command line (what the Assignments tab runs), each student
with a user name and a home of their own; the instructor's side is ``python -m grader``. The due
date falls between the two submissions, and the course takes a late submission's points
(``LateSubmissionPlugin.penalty_method = "zero"``): the late one keeps nbgrader's timestamp, and
its penalty shows in the gradebook, the export and the feedback. The hub test
(``tests/e2e/test_hub.py``) runs the same term with real Unix users in the browser.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
import tiny_lab as tiny
from grader_cli import run_grader
from nbgrader.api import Gradebook
from tiny_lab import FULL, RIGHT

from grader.layout import PACKAGED_CONFIG, Course

STUDENTS = ("alice", "bob")


@pytest.fixture(scope="module")
def term(tmp_path_factory) -> dict:
    """The whole term, run once: what each step printed, and where everything is."""
    base = tmp_path_factory.mktemp("exchange-term")
    root, state, exchange = base / "course", base / "grading", base / "exchange"
    tiny.write_course(root)
    (root / "nbgrader_config.py").write_text(
        f"load_subconfig({str(PACKAGED_CONFIG)!r})\nc.LateSubmissionPlugin.penalty_method = 'zero'\n"
    )
    exchange.mkdir(mode=0o1777)
    env = {**os.environ, "MSL_EXCHANGE": str(exchange)}

    def grader(*args) -> subprocess.CompletedProcess:
        return run_grader("--course-root", root, "--course-dir", state, *args, env=env)

    steps = {"release": grader("release", tiny.LAB), "handout": grader("handout", "--lab", tiny.LAB)}
    submitted_at = {}
    for student in STUDENTS:
        home = base / "home" / student
        home.mkdir(parents=True)
        steps[f"fetch {student}"] = student_runs(home, exchange, "fetch_assignment", tiny.LAB)
        notebook = home / tiny.LAB / f"{tiny.LAB}.ipynb"
        answers = RIGHT if student == "alice" else {"tiny-add": RIGHT["tiny-add"]}
        nbformat.write(tiny.answered(nbformat.read(notebook, as_version=4), answers), notebook)
        steps[f"submit {student}"] = student_runs(home, exchange, "submit", tiny.LAB)
        submitted_at[student] = datetime.now(timezone.utc)
        time.sleep(1.5)  # bob submits clearly after the due date set between the two
    due = submitted_at["alice"] + (submitted_at["bob"] - submitted_at["alice"]) / 2
    steps["due"] = grader("handout", "--lab", tiny.LAB, "--replace", "--due", due.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    steps["autograde"] = grader("autograde", "--from-exchange", "--lab", tiny.LAB, "--jobs", "2")
    steps["feedback"] = grader("feedback", "--lab", tiny.LAB, "--to-exchange")
    steps["export"] = grader("export", "--out", base / "grades.csv")
    for student in STUDENTS:
        steps[f"fetch_feedback {student}"] = student_runs(base / "home" / student, exchange, "fetch_feedback", tiny.LAB)
    return {"steps": steps, "base": base, "state": state, "exchange": exchange, "course": Course(root, state)}


def student_runs(home: Path, exchange: Path, command: str, lab: str) -> subprocess.CompletedProcess:
    """nbgrader's student command, as the Assignments tab runs it, from the student's home.

    One Unix user plays both students here, so each names itself (``--student``), as nbgrader allows;
    ``tests/e2e/test_hub.py`` runs the same steps as real Unix users.
    """
    env = {**os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter")}
    options = ["--course=ml-systems-labs", f"--Exchange.root={exchange}", f"--student={home.name}"]
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", command, lab, *options],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_step_of_the_term_succeeds(term):
    for step, result in term["steps"].items():
        assert result.returncode == 0, f"{step} failed:\n{result.stdout}\n{result.stderr}"
    assert "handed out tiny" in term["steps"]["handout"].stdout
    assert "graded 2 submissions of tiny" in term["steps"]["autograde"].stdout
    assert "returned 2 of them through the exchange" in term["steps"]["feedback"].stdout


def test_collected_submissions_keep_nbgrader_s_timestamps_and_the_late_one_is_penalised(term):
    with Gradebook(term["course"].db_url) as gradebook:
        alice = gradebook.find_submission(tiny.LAB, "alice")
        bob = gradebook.find_submission(tiny.LAB, "bob")
        assert alice.timestamp is not None and bob.timestamp is not None
        assert alice.total_seconds_late == 0 and alice.score == FULL
        assert bob.total_seconds_late > 0
        assert bob.score == 2 and bob.late_submission_penalty == 2  # "zero": the whole score is taken
    submitted = term["state"] / "submitted" / "bob" / tiny.LAB / "timestamp.txt"
    assert submitted.is_file(), "nbgrader's collect keeps the submission's timestamp"


def test_the_export_counts_the_penalty(term):
    rows = {row["student_id"]: row for row in csv.DictReader((term["base"] / "grades.csv").open())}
    assert float(rows["alice"]["score"]) == FULL
    assert float(rows["bob"]["score"]) == 0


def test_each_student_fetches_only_their_own_feedback(term):
    for student, other in (("alice", "bob"), ("bob", "alice")):
        reports = list((term["base"] / "home" / student / tiny.LAB / "feedback").glob("*/tiny.html"))
        assert len(reports) == 1, f"{student} fetched {reports}"
        html = reports[0].read_text()
        assert f"<strong>{student}</strong>" in html and f"<strong>{other}</strong>" not in html
    bob = next((term["base"] / "home" / "bob" / tiny.LAB / "feedback").glob("*/tiny.html")).read_text()
    assert "after the due date: the late penalty took 2 points" in bob
    assert "np.isclose(mean(xs), np.mean(xs))" not in bob, "a hidden test reached a student"


def test_handout_without_an_exchange_is_one_line(tmp_path):
    root = tmp_path / "course"
    tiny.write_course(root)
    env = {**os.environ, "MSL_EXCHANGE": str(tmp_path / "missing")}
    result = run_grader("--course-root", root, "--course-dir", tmp_path / "state", "release", tiny.LAB, env=env)
    assert result.returncode == 0, result.stderr
    result = run_grader("--course-root", root, "--course-dir", tmp_path / "state", "handout", "--lab", "tiny", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: the exchange {tmp_path / 'missing'} does not exist: create it (mode 1777) or set MSL_EXCHANGE "
        "(deploy/README.md)"
    ]


def test_autograde_takes_a_folder_or_the_exchange_not_both():
    for args in (("autograde", "--lab", "tiny"), ("autograde", "subs", "--from-exchange", "--lab", "tiny")):
        result = run_grader(*args)
        assert result.returncode == 2
        assert "a folder or zip of submissions, or --from-exchange" in result.stderr
