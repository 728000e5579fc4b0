"""``python -m grader publish``: the student edition holds no solution, no hidden test and no instructor state.

The edition's own ``make test`` and ``make lab`` from a fresh clone are proven
in ``tests/e2e/test_student_edition.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import nbformat
import pytest
from grader_cli import run_grader

from grader.layout import Course
from grader.publish import answer_lines, leaks

REPO = Path(__file__).resolve().parents[2]
COURSE_FILES = (
    "solutions",
    "labs",
    "course",
    "socratiq_ext",
    "tests",
    "environment.yml",
    "pyproject.toml",
    "run.py",
    ".devcontainer",
)


def publish(folder: Path, root: Path = REPO) -> subprocess.CompletedProcess:
    return run_grader("publish", folder, "--course-root", root, timeout=600)


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("published") / "edition"
    result = publish(folder)
    assert result.returncode == 0, result.stderr
    assert f"wrote the student edition to {folder}" in result.stdout
    return folder


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    for name in COURSE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "models"))
        else:
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts]


def test_the_edition_holds_no_line_of_a_solution_or_hidden_test(edition: Path):
    lines = answer_lines(Course(REPO))
    assert len(lines) > 300, "every lab's solutions and hidden tests are searched for"
    assert leaks(edition, lines) == []
    for path in files(edition):
        text = path.read_text(errors="replace")
        for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
            assert marker not in text, f"{path.relative_to(edition)} holds {marker!r}"


def test_the_edition_holds_no_instructor_file(edition: Path):
    top = sorted(p.name for p in edition.iterdir())
    assert top == [
        ".devcontainer",
        ".git",
        ".gitignore",
        "Makefile",
        "README.md",
        "course",
        "environment.yml",
        "labs",
        "pyproject.toml",
        "run.py",
        "socratiq_ext",
        "tests",
    ]
    relative = [str(p.relative_to(edition)) for p in files(edition)]
    assert not [
        p
        for p in relative
        if p.startswith(("solutions", "grader", "grading", "tests/labs", "tests/grader", "tests/e2e", "bench"))
    ]
    assert not [p for p in relative if p.endswith((".db", ".sqlite3"))], "no gradebook or progress store"
    assert "-m grader" not in (edition / "Makefile").read_text(), "students have no grader to run"
    packages = tomllib.loads((edition / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "grader" not in packages and "course" in packages and "socratiq_ext" in packages


def test_the_edition_is_a_git_repository_with_its_labs(edition: Path):
    log = subprocess.run(["git", "log", "--oneline"], cwd=edition, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=edition, capture_output=True, text=True, check=True)
    assert status.stdout == "", "every file of the edition is committed"
    for released in (REPO / "labs").glob("*/*.ipynb"):
        assert (edition / released.relative_to(REPO)).read_bytes() == released.read_bytes()


def test_a_hint_that_quotes_a_hidden_test_stops_the_publication(course_copy: Path, tmp_path: Path):
    source = nbformat.read(course_copy / "solutions" / "lab01_data" / "lab01_data.ipynb", as_version=4)
    hidden = next(
        c.source.split("### BEGIN HIDDEN TESTS")[1] for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source
    )
    quoted = max(hidden.splitlines(), key=len).strip()
    hints = course_copy / "course" / "hints" / "lab01_data.toml"
    hints.write_text(hints.read_text() + f"\n# A careless note: {quoted}\n")
    result = publish(tmp_path / "edition", course_copy)
    assert result.returncode == 2
    assert result.stderr.startswith("error: course/hints/lab01_data.toml:") and "quotes a solution" in result.stderr
    assert not (tmp_path / "edition").exists(), "nothing is written when a leak is found"


def test_publish_refuses_a_folder_in_use_and_an_outdated_release(course_copy: Path, tmp_path: Path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = publish(busy, course_copy)
    assert result.returncode == 2 and "exists and is not empty" in result.stderr
    assert (busy / "notes.txt").read_text() == "mine"

    released = course_copy / "labs" / "lab01_data" / "lab01_data.ipynb"
    notebook = nbformat.read(released, as_version=4)
    notebook.cells[0].source += "\nA hand edit."
    nbformat.write(notebook, released)
    result = publish(tmp_path / "edition", course_copy)
    assert result.returncode == 2 and "run `python -m grader release` first" in result.stderr
