"""What the grader does on a machine without bubblewrap: say so, and refuse under --sandbox strict."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import tiny_lab as tiny

from grader.export import scores
from grader.layout import Course
from grader.sandbox import bwrap_command, kernel_environment

NO_BWRAP_PATH = str(Path(sys.executable).parent)  # the environment's scripts, and no /usr/bin


def honest_submission(root: Path) -> Path:
    tiny.write_course(root)
    folder = root / "incoming" / "honest"
    folder.mkdir(parents=True)
    nbformat.write(tiny.answered(tiny.released(root), tiny.RIGHT), folder / f"{tiny.LAB}.ipynb")
    return root / "incoming"


def test_strict_refuses_in_one_line_and_grades_nothing(tmp_path: Path):
    result = tiny.grade(tmp_path, honest_submission(tmp_path), "--sandbox", "strict", path=NO_BWRAP_PATH)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert errors[-1].startswith("error: --sandbox strict: sandbox: bubblewrap (bwrap) is not installed")
    assert not (tmp_path / "grading" / "gradebook.db").exists()


def test_best_effort_says_what_is_missing_and_still_grades(tmp_path: Path):
    result = tiny.grade(tmp_path, honest_submission(tmp_path), path=NO_BWRAP_PATH)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.splitlines()[0].startswith(
        "sandbox: bubblewrap (bwrap) is not installed, so kernels can reach"
    )
    assert "[INFO]" not in result.stderr, "nbgrader's own log shows only with --verbose"
    course = Course(tmp_path, tmp_path / "grading")
    assert {s.student: s.score for s in scores(course)} == {"honest": tiny.FULL}


def test_the_sandbox_shows_the_student_folder_and_the_course_library_only(tmp_path: Path):
    command = bwrap_command("bwrap", tmp_path / "work", tmp_path / "ipc", tmp_path / "home")
    bound = {command[i + 1] for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind")}
    assert str(tmp_path / "work") in bound and str(tiny.REPO / "course") in bound
    assert not {str(tiny.REPO), str(tiny.REPO / "solutions"), str(tiny.REPO / "grading"), "/", "/root"} & bound


def test_each_parallel_kernel_gets_its_share_of_the_cores(tmp_path: Path):
    env = kernel_environment(tmp_path, threads=1)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == "1"
