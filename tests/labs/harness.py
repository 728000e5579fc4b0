"""Grade lab notebooks with the real nbgrader, in a scratch course directory.

The course's own configuration (``grader/nbgrader_config.py``) is used, with
the course root and gradebook moved into a temporary folder, so that the
tests grade exactly as an instructor would.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from grader.cli import put_environment_scripts_on_path
from grader.release import copy_source, load_config, solution_answers, with_answers

REPO = Path(__file__).resolve().parents[2]


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_answer(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("solution", False) and not meta.get("grade", False)


def is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def execute(notebook, workdir: Path, timeout: int = 300):
    """Run a notebook with the Python 3 kernel, not stopping at errors; return the executed copy."""
    copy = nbformat.from_dict(notebook)
    NotebookClient(copy, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return copy


def printed_json(cell, marker: str) -> dict:
    """The JSON a cell printed after ``marker`` (how a test reads results out of a notebook run)."""
    text = "".join(out.get("text", "") for out in cell.outputs)
    return json.loads(text.split(marker, 1)[1])


def errors(notebook) -> dict[str, str]:
    """``{cell id: 'Error: message'}`` for every cell whose execution raised."""
    return {
        grade_id(cell) or cell.id: f"{out.ename}: {out.evalue}"
        for cell in notebook.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.output_type == "error"
    }


@dataclass
class ScratchCourse:
    """An nbgrader course directory holding one lab, released from ``solutions/``."""

    root: Path
    lab: str

    @classmethod
    def create(cls, root: Path, lab: str) -> "ScratchCourse":
        put_environment_scripts_on_path()
        copy_source(REPO / "solutions", lab, root)
        course = cls(root, lab)
        result = course.api.generate_assignment(lab, force=True, create=True)
        assert result["success"], result.get("error") or result.get("log")
        return course

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def api(self) -> NbGraderAPI:
        return NbGraderAPI(config=load_config(root=str(self.root), db_url=self.db_url))

    @property
    def source(self):
        return nbformat.read(self.root / "solutions" / self.lab / f"{self.lab}.ipynb", as_version=4)

    @property
    def released(self):
        return nbformat.read(self.root / "labs" / self.lab / f"{self.lab}.ipynb", as_version=4)

    def solved(self):
        """The released notebook with every answer cell filled in from the solution."""
        return with_answers(self.released, solution_answers(self.source))

    def submit(self, student: str, notebook) -> None:
        folder = self.root / load_config().CourseDirectory.submitted_directory / student / self.lab
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / f"{self.lab}.ipynb")

    def autograde(self, student: str) -> None:
        result = self.api.autograde(self.lab, student, force=True, create=True)
        assert result["success"], result.get("error") or result.get("log")

    def scores(self, student: str, db_url: str | None = None) -> dict[str, float]:
        """Autograded points per test cell, from the gradebook (default: this course's own)."""
        tests = self.max_scores()
        with Gradebook(db_url or self.db_url) as gradebook:
            notebook = gradebook.find_submission_notebook(self.lab, self.lab, student)
            return {g.name: g.score for g in notebook.grades if g.name in tests}

    def graded_notebook(self, student: str):
        """The notebook as nbgrader ran it for ``student``, outputs included."""
        folder = self.root / load_config().CourseDirectory.autograded_directory / student / self.lab
        return nbformat.read(folder / f"{self.lab}.ipynb", as_version=4)

    def max_scores(self) -> dict[str, float]:
        return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in self.source.cells if is_test(c)}


def autograde_in_parallel(students_by_course: dict[Path, list[str]], lab: str) -> None:
    """Autograde each scratch course's students with plain nbgrader, one worker process per course."""
    context = multiprocessing.get_context("spawn")  # nbgrader and its kernels start clean in each worker
    with ProcessPoolExecutor(max_workers=len(students_by_course), mp_context=context) as pool:
        for done in [pool.submit(_autograde_all, root, lab, students) for root, students in students_by_course.items()]:
            done.result()


def _autograde_all(root: Path, lab: str, students: list[str]) -> None:
    course = ScratchCourse(root, lab)
    for student in students:
        course.autograde(student)
