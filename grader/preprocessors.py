"""nbgrader preprocessors of this course's own: each does one job in the autograde pipeline."""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.cells import grade_id

NOTE = "grader"  # cell metadata key: what the grader did to this cell, for the student's feedback


def grader_notes(nb: NotebookNode) -> list[str]:
    """What the sanitizing steps did to a submission's cells, in notebook order."""
    return [cell.metadata[NOTE] for cell in nb.cells if NOTE in cell.metadata]


class KeepOneCopyPerGradeId(NbGraderPreprocessor):
    """Grade each nbgrader cell once when a student copied or duplicated it.

    JupyterLab's copy, paste and duplicate keep a cell's nbgrader metadata, so
    its grade_id appears twice. nbgrader's ``DeduplicateIds`` keeps the last
    copy but leaves an empty ``nbgrader`` dict on the others, which
    ``CheckCellMetadata`` then rejects: the whole notebook would score 0. Here
    one copy keeps the metadata: for an answer cell, the last copy the student
    changed from the released stub (where the work is); for a test or locked
    cell, the last copy (it runs after every copy of the answer). The other
    copies lose their nbgrader metadata, so a code copy runs as the student's
    own code and earns nothing, and each gets a note that feedback shows. Replaces
    ``DeduplicateIds`` in the sanitizing steps.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        copies: dict[str, list[int]] = {}
        for index, cell in enumerate(nb.cells):
            if name := _grade_id(cell):
                copies.setdefault(name, []).append(index)
        duplicated = {name: indices for name, indices in copies.items() if len(indices) > 1}
        if not duplicated:
            return nb, resources
        stubs = self._released_sources(resources)
        for name, indices in duplicated.items():
            kept = self._kept(nb, indices, stubs.get(name))
            for index in indices:
                if index != kept:
                    del nb.cells[index].metadata["nbgrader"]
                    nb.cells[index].metadata[NOTE] = (
                        f"cell {index + 1} is a copy of {name} and was not graded: "
                        f"cell {kept + 1} was (each nbgrader cell counts once)"
                    )
        return nb, resources

    @staticmethod
    def _released_sources(resources: dict) -> dict[str, str]:
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            released = gradebook.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            return {cell.name: cell.source for cell in released.source_cells}

    @staticmethod
    def _kept(nb: NotebookNode, indices: list[int], stub: str | None) -> int:
        if utils.is_solution(nb.cells[indices[0]]):
            worked = [i for i in indices if nb.cells[i].source.strip() != (stub or "").strip()]
            return (worked or indices)[-1]
        return indices[-1]


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back every nbgrader cell (setup, answer, test) that a submission no longer has.

    The gradebook keeps each cell of the released lab in order; a missing one is
    inserted after the nearest earlier cell that is present. Answer cells come
    back as the released stub. nbgrader's ``OverwriteCells.add_missing_cells``
    does this for grade cells only, and fails when the cell before a deleted
    one is a locked or answer cell; this covers every kind. Runs after
    ``DeduplicateIds`` and before ``OverwriteCells``, which then rewrites the
    restored cells' source and metadata from the gradebook like any other.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            released = gradebook.find_notebook(notebook_id, assignment_id)
            points = {cell.name: cell.max_score for cell in released.grade_cells}
            answers = {cell.name for cell in released.solution_cells}
            sources = [(cell.name, cell.cell_type, cell.source, cell.locked) for cell in released.source_cells]
        present = {_grade_id(cell): index for index, cell in enumerate(nb.cells) if _grade_id(cell)}
        position = 0
        for name, cell_type, source, locked in sources:
            if name in present:
                position = present[name] + 1
                continue
            self.log.warning("Restoring deleted cell %s", name)
            cell = _released_cell(name, cell_type, source, locked, points.get(name), name in answers)
            cell.metadata[NOTE] = f"{name} was missing from your notebook: the grader put back the released cell"
            nb.cells.insert(position, cell)
            present = {_grade_id(cell): index for index, cell in enumerate(nb.cells) if _grade_id(cell)}
            position += 1
        return nb, resources


def _grade_id(cell: NotebookNode) -> str | None:
    """The grade_id of a cell nbgrader tracks (answer, test, locked or task); None for any other."""
    if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell) or utils.is_task(cell):
        return grade_id(cell)
    return None


def _released_cell(
    name: str, cell_type: str, source: str, locked: bool, points: float | None, answer: bool
) -> NotebookNode:
    metadata = {
        "nbgrader": {
            "grade_id": name,
            "grade": points is not None,
            "solution": answer,
            "locked": locked,
            "task": False,
            "schema_version": 3,
            **({"points": points} if points is not None else {}),
        }
    }
    make = new_code_cell if cell_type == "code" else new_markdown_cell
    return make(source=source, metadata=metadata)
