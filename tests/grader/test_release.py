"""``python -m grader release|check``: labs/ is exactly what nbgrader generates from solutions/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from grader.layout import Course

REPO = Path(__file__).resolve().parents[2]


def grader(*args: str, root: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as ``.venv/bin/python -m grader`` from an environment that was never activated."""
    scripts = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != scripts)
    env = {**os.environ, "PATH": path}
    env.pop("VIRTUAL_ENV", None)
    extra = ["--course-root", str(root)] if root else []
    return subprocess.run(
        [sys.executable, "-m", "grader", *extra, *args],
        cwd=root or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of this course's solutions/ and labs/ to break and mend."""
    for folder in ("solutions", "labs"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns(*Course(REPO).ignore_globs()))
    return tmp_path


def test_labs_in_the_repository_match_solutions():
    result = grader("check")
    assert result.returncode == 0, result.stderr
    assert "labs/ matches solutions/" in result.stdout


def test_check_names_every_lab_that_differs(course: Path):
    labs = sorted(p.name for p in (course / "solutions").iterdir())
    edited = course / "labs" / labs[0] / f"{labs[0]}.ipynb"
    notebook = nbformat.read(edited, as_version=4)
    notebook.cells[0].source += "\nA hand edit."
    nbformat.write(notebook, edited)
    (course / "labs" / "lab99_orphan").mkdir()
    (course / "labs" / "lab99_orphan" / "lab99_orphan.ipynb").write_text("{}")

    result = grader("check", root=course)

    assert result.returncode == 1
    assert f"{labs[0]}: {labs[0]}.ipynb differ" in result.stderr
    assert "lab99_orphan: labs/lab99_orphan has no source" in result.stderr
    assert "run `python -m grader release`" in result.stderr


def test_check_notices_a_lab_that_was_never_released(course: Path):
    lab = sorted(p.name for p in (course / "solutions").iterdir())[0]
    shutil.rmtree(course / "labs" / lab)
    result = grader("check", root=course)
    assert result.returncode == 1
    assert f"{lab}: the whole folder is missing" in result.stderr


def test_release_mends_what_check_found_and_is_deterministic(course: Path):
    lab = sorted(p.name for p in (course / "solutions").iterdir())[0]
    shutil.rmtree(course / "labs" / lab)
    (course / "labs" / "lab99_orphan").mkdir()

    released = grader("release", root=course)

    assert released.returncode == 0, released.stderr
    assert "removed labs/lab99_orphan" in released.stdout
    assert grader("check", root=course).returncode == 0
    for path in (REPO / "labs" / lab).rglob("*"):
        if path.is_file():
            assert (course / "labs" / lab / path.relative_to(REPO / "labs" / lab)).read_bytes() == path.read_bytes()


def test_running_a_solution_in_place_changes_neither_check_nor_release(course: Path):
    """An instructor runs a lab while authoring it; what it writes (Lab 4 exports models) never reaches labs/."""
    lab = "lab04_deploy"
    folder = course / "solutions" / lab
    notebook = nbformat.read(folder / f"{lab}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    written = sorted(str(p.relative_to(folder)) for p in folder.iterdir() if p.name != f"{lab}.ipynb")
    assert written, "the lab wrote nothing next to its notebook: this test needs a lab that does"

    result = grader("check", root=course)
    assert result.returncode == 0, result.stderr
    assert grader("release", lab, root=course).returncode == 0
    assert sorted(p.name for p in (course / "labs" / lab).iterdir()) == [f"{lab}.ipynb"]


def test_release_records_the_lab_in_the_gradebook_of_course_dir(course: Path, tmp_path_factory):
    """``--course-dir`` means the same to release as to autograde: the gradebook lives there, not in grading/."""
    state = tmp_path_factory.mktemp("state")
    lab = sorted(p.name for p in (course / "solutions").iterdir())[0]
    assert grader("--course-dir", str(state), "release", lab, root=course).returncode == 0
    with Gradebook(f"sqlite:///{state / 'gradebook.db'}") as gradebook:
        assert gradebook.find_assignment(lab).name == lab
    assert not (course / "grading").exists()


def test_release_of_an_unknown_lab_says_which_labs_exist(course: Path):
    result = grader("release", "lab42_nope", root=course)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no source notebook for lab42_nope; labs in solutions/: "
        + ", ".join(sorted(p.name for p in (course / "solutions").iterdir()))
    ]


def test_released_notebooks_hold_no_solutions_hidden_tests_or_outputs():
    for notebook_path in (REPO / "labs").glob("*/*.ipynb"):
        text = notebook_path.read_text()
        for secret in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            assert secret not in text, f"{notebook_path.name} leaks {secret!r}"
        notebook = nbformat.read(notebook_path, as_version=4)
        assert not any(c.get("outputs") or c.get("execution_count") for c in notebook.cells if c.cell_type == "code")


def test_check_names_stale_fingerprints_and_release_mends_them(course: Path):
    """The tutor's fingerprints are written by release next to labs/, and checked with them."""
    shutil.copytree(REPO / "course" / "fingerprints", course / "course" / "fingerprints")
    assert grader("check", root=course).returncode == 0
    lab = sorted(p.name for p in (course / "solutions").iterdir())[0]
    source = course / "solutions" / lab / f"{lab}.ipynb"
    notebook = nbformat.read(source, as_version=4)
    cell = next(c for c in notebook.cells if "### END SOLUTION" in c.source and c.cell_type == "code")
    cell.source = cell.source.replace("### END SOLUTION", "    extra_line = 1\n    ### END SOLUTION", 1)
    nbformat.write(notebook, source)

    result = grader("check", root=course)
    assert result.returncode == 1 and f"{lab}: course/fingerprints/{lab}.json differs" in result.stderr

    assert f"fingerprinted {lab}" in grader("release", lab, root=course).stdout
    assert grader("check", root=course).returncode == 0
