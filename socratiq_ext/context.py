"""Which exercise the student is on, and what went wrong last.

The kernel knows what ran (its input history and the last exception), the
notebook file knows which cell is which exercise (nbgrader's grade_ids). This
module joins the two: a cell that defines or calls an exercise's function
belongs to that exercise, and a traceback through that function does too.
"""

from __future__ import annotations

import ast
import os
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

from socratiq_ext.content import LabContent


@dataclass(frozen=True)
class ErrorInfo:
    """The last error, reduced to what the tutor needs (and nothing that could hold a secret)."""

    type_name: str
    message: str
    functions: tuple[str, ...]  # innermost last
    cell: str = ""

    @classmethod
    def from_exception(cls, error: BaseException, cell: str = "") -> ErrorInfo:
        frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
        return cls(type(error).__name__, str(error), tuple(f.name for f in frames), cell)

    def summary(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name


@dataclass(frozen=True)
class CellRun:
    """One cell the kernel ran, and its error if it failed."""

    source: str
    error: ErrorInfo | None = None


HISTORY_LENGTH = 200


class CellRecorder:
    """Listens to IPython's ``post_run_cell`` event and keeps the last cells run and how they ended."""

    def __init__(self, shell: InteractiveShell):
        self.history: list[CellRun] = [CellRun(source) for source in shell.user_ns.get("In", [])[1:]]

    def post_run_cell(self, result: ExecutionResult) -> None:
        error = result.error_in_exec or result.error_before_exec
        source = result.info.raw_cell if result.info is not None else ""
        self.history.append(CellRun(source, ErrorInfo.from_exception(error, source) if error else None))
        del self.history[:-HISTORY_LENGTH]


# The kernel's recorder, once the extension is loaded: tutors made in the kernel share its history.
recorder: CellRecorder | None = None


def kernel_history() -> list[CellRun]:
    """The cells this kernel ran since the extension was loaded (empty outside a kernel)."""
    return recorder.history if recorder is not None else []


def detect_lab(known: Sequence[str], env: Mapping[str, str] = os.environ, cwd: Path | None = None) -> str | None:
    """The lab of the running notebook: JupyterLab's session name, else the kernel's folder."""
    candidates = [Path(env.get("JPY_SESSION_NAME", "")).stem, (cwd or Path.cwd()).name]
    return next((c for c in candidates if c in known), None)


def notebook_path(lab: str, env: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path | None:
    """The student's notebook file, if the kernel can see it."""
    session = Path(env.get("JPY_SESSION_NAME", ""))
    for path in (session, (cwd or Path.cwd()) / f"{lab}.ipynb"):
        if path.suffix == ".ipynb" and path.stem == lab and path.is_file():
            return path
    return None


class ExerciseLocator:
    """Maps code to exercises through the names each exercise's answer cell defines."""

    def __init__(self, content: LabContent, notebook: Path | None = None):
        self.content = content
        self.names = {e.function: g for g, e in content.exercises.items()}
        if notebook is not None:
            self.names.update(self._names_in(notebook))

    def _names_in(self, notebook: Path) -> dict[str, str]:
        """Functions defined in each graded answer cell of the notebook, by grade_id."""
        try:
            cells = nbformat.read(notebook, as_version=4).cells
        except Exception:  # noqa: BLE001 - a broken notebook only costs the extra names
            return {}
        names = {}
        for cell in cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type == "code" and grade_id in self.content.exercises:
                names.update({name: grade_id for name in _defined(cell.source)})
        return names

    def for_code(self, source: str) -> str | None:
        """The exercise a cell belongs to: the one it defines, else the one it uses most."""
        defined = [self.names[n] for n in _defined(source) if n in self.names]
        if defined:
            return defined[0]
        used = [self.names[n] for n in _used(source) if n in self.names]
        return max(set(used), key=used.count) if used else None

    def for_error(self, error: ErrorInfo) -> str | None:
        """The exercise whose function raised the error or was on its way there."""
        inside = [self.names[f] for f in reversed(error.functions) if f in self.names]
        return inside[0] if inside else self.for_code(error.cell)

    def current(self, history: Iterable[CellRun]) -> str | None:
        """The exercise of the most recent cell that belongs to one."""
        for run in reversed(list(history)):
            grade_id = (self.for_error(run.error) if run.error else None) or self.for_code(run.source)
            if grade_id:
                return grade_id
        return None


def _tree(source: str) -> ast.AST | None:
    try:
        return ast.parse(_as_python(source))
    except SyntaxError:
        return None  # a half-written cell: nothing to learn from it


def _as_python(source: str) -> str:
    """IPython's magics and shell escapes made Python: ``%time x = f()`` keeps ``x = f()``."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("!"):
            line = ""
        elif stripped.startswith("%"):
            line = stripped.lstrip("%").partition(" ")[2]
            try:
                ast.parse(line)
            except SyntaxError:
                line = ""  # %pip install x, %cd folder: arguments, not code
        lines.append(line)
    return "\n".join(lines)


def _defined(source: str) -> list[str]:
    tree = _tree(source)
    return [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] if tree else []


def _used(source: str) -> list[str]:
    tree = _tree(source)
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)] if tree else []
