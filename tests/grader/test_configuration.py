"""Every grading setting is nbgrader configuration: declared once, set in nbgrader_config.py or on the command line.

The pipeline the grader runs is the one the instructor configured, with only nbgrader's ``DeduplicateIds``
and ``Execute`` replaced by the course's versions of them: a step an instructor adds runs under plain
nbgrader and under ``python -m grader`` alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import tiny_lab as tiny
from nbgrader.preprocessors import DeduplicateIds, Execute, LimitOutput
from traitlets.config import Config

from grader.autograde import PipelineError, pipeline_config
from grader.cli import build_parser, command_line_settings
from grader.execute import SandboxedExecute
from grader.layout import PACKAGED_CONFIG, Course
from grader.preprocessors import KeepOneCopyPerGradeId, RestoreDeletedCells

GiB = 1024**3
# An instructor's own step, added the traitlets way (append to nbgrader's default list): it stamps each graded
# notebook, so the test can see that it ran.
STAMP_STEP = """
from nbgrader.preprocessors import NbGraderPreprocessor


class Stamp(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        nb.metadata["instructor_stamp"] = "ran"
        return nb, resources


c.Autograde.autograde_preprocessors.append(Stamp)
"""


def course_with(tmp_path: Path, settings: str) -> Course:
    """A course whose nbgrader_config.py loads this course's configuration and then adds ``settings``."""
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(PACKAGED_CONFIG)!r})\n{settings}"
    )
    return Course(tmp_path)


def test_limits_come_from_nbgrader_config_and_the_cell_timeout_is_nbgrader_s_own(tmp_path: Path):
    course = course_with(tmp_path, "c.SandboxedExecute.memory_gib = 6\nc.Execute.timeout = 42\n")
    execute = SandboxedExecute(config=pipeline_config(course))
    assert execute.limits().memory_bytes == 6 * GiB and execute.timeout == 42
    defaults = SandboxedExecute(config=pipeline_config(Course(tmp_path / "elsewhere")))
    assert defaults.timeout == 300, "the course's nbgrader_config.py gives a cell 300 s, for nbgrader and the grader"


def test_the_command_line_wins_over_nbgrader_config(tmp_path: Path):
    course = course_with(tmp_path, "c.SandboxedExecute.memory_gib = 6\nc.SandboxedExecute.cpu_seconds = 99\n")
    args = build_parser().parse_args(
        ["autograde", "subs", "--lab", "x", "--memory-gib", "2", "--cell-timeout", "7", "--sandbox", "strict"]
    )
    execute = SandboxedExecute(config=pipeline_config(course, command_line_settings(args)))
    assert (execute.memory_gib, execute.timeout, execute.strict) == (2, 7, True)
    assert execute.cpu_seconds == 99, "a setting the command line leaves alone keeps nbgrader_config.py's value"


def test_help_lists_each_limit_with_its_trait_s_help():
    text = build_parser()._subparsers._group_actions[0].choices["autograde"].format_help()
    for trait in ("memory_gib", "cpu_seconds", "max_processes", "max_output_kib"):
        assert f"c.SandboxedExecute.{trait}" in text
        assert " ".join(SandboxedExecute.class_traits()[trait].help.split()[:4]) in " ".join(text.split())
    assert "c.Execute.timeout" in text and "this course: 300" in text


def test_the_pipeline_extends_the_configured_lists(tmp_path: Path):
    config = pipeline_config(course_with(tmp_path, STAMP_STEP))
    sanitize, autograde = config.Autograde.sanitize_preprocessors, config.Autograde.autograde_preprocessors
    assert DeduplicateIds not in sanitize and sanitize[1:3] == [KeepOneCopyPerGradeId, RestoreDeletedCells]
    assert Execute not in autograde and autograde[0] is SandboxedExecute
    assert LimitOutput in autograde and autograde[-1].__name__ == "Stamp", "nbgrader's steps and the instructor's stay"


def test_a_pipeline_without_execute_is_refused_with_what_to_do(tmp_path: Path):
    course = course_with(tmp_path, "c.Autograde.autograde_preprocessors = ['nbgrader.preprocessors.LimitOutput']\n")
    with pytest.raises(PipelineError, match="keep nbgrader's Execute"):
        pipeline_config(course, Config())


def test_an_instructor_s_step_runs_under_plain_nbgrader_and_the_grader(tmp_path: Path):
    """The same nbgrader_config.py, graded twice: by ``nbgrader autograde`` and by ``python -m grader``."""
    root = tmp_path / "course"
    tiny.write_course(root)
    course = course_with(
        root,
        STAMP_STEP + "c.CourseDirectory.root = " + repr(str(root)) + "\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'plain.db'}'\n"
        "c.CourseDirectory.submitted_directory = 'plain/submitted'\n"
        "c.CourseDirectory.autograded_directory = 'plain/autograded'\n",
    )
    answered = tiny.answered(tiny.released(root), tiny.RIGHT)
    for folder in (root / "plain" / "submitted" / "ada" / tiny.LAB, tmp_path / "incoming" / "ada"):
        folder.mkdir(parents=True)
        nbformat.write(answered, folder / f"{tiny.LAB}.ipynb")

    for step in ("generate_assignment", "autograde"):  # plain nbgrader, in the course's root, with its config
        plain = subprocess.run(
            [sys.executable, "-m", "nbgrader", step, tiny.LAB, "--create", "--force"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert plain.returncode == 0, plain.stderr[-2000:]
    graded = tiny.grade(root, tmp_path / "incoming", "--verbose")
    problems = [line for line in graded.stderr.splitlines() if line.startswith("ada: ")]
    assert graded.returncode == 0 and problems == [], graded.stderr[-2000:]

    for autograded in (root / "plain" / "autograded", course.autograded):
        notebook = nbformat.read(autograded / "ada" / tiny.LAB / f"{tiny.LAB}.ipynb", as_version=4)
        assert notebook.metadata.get("instructor_stamp") == "ran", autograded
    assert "[INFO]" in graded.stderr, "--verbose shows nbgrader's own log"
