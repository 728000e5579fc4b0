"""Generate ``labs/`` (and the tutor's ``course/fingerprints/``) from ``solutions/``, and check that they agree.

Both commands build the student version of each lab the same way, with
nbgrader's ``generate_assignment``. ``release`` runs it in the course itself,
so the lab is also recorded in the instructor's gradebook (``grading/``, git
ignored) and plain ``nbgrader autograde`` can grade it; ``check`` runs it in a
scratch course directory with a throw-away gradebook and compares.
"""

from __future__ import annotations

import filecmp
import fnmatch
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config, PyFileConfigLoader

from grader import fingerprints

CONFIG_FILE = Path(__file__).with_name("nbgrader_config.py")
SOLUTION_MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION"}


class ReleaseError(RuntimeError):
    """nbgrader could not generate a lab's student version."""


@dataclass(frozen=True)
class Course:
    """Where a course keeps its source and released labs."""

    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def labs(self) -> Path:
        return self.root / "labs"

    def source_labs(self) -> list[str]:
        """Lab ids with a source notebook ``solutions/<lab>/<lab>.ipynb``, in course order."""
        return sorted(p.parent.name for p in self.solutions.glob("*/*.ipynb") if p.stem == p.parent.name)

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'grading' / 'gradebook.db'}"

    def released_labs(self) -> list[str]:
        return sorted(p.name for p in self.labs.iterdir() if p.is_dir()) if self.labs.is_dir() else []


def load_config(**overrides: str) -> Config:
    """The course's nbgrader configuration, with ``CourseDirectory`` traits overridden."""
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    for name, value in overrides.items():
        setattr(config.CourseDirectory, name, value)
    return config


def ignored_names() -> list[str]:
    """The globs (``CourseDirectory.ignore``) of files a lab writes at run time: never released or published."""
    return list(load_config().CourseDirectory.ignore)


def is_ignored(relative: Path, globs: list[str]) -> bool:
    """Whether a path, or a folder it lies in, matches one of ``globs`` (matched on names, as nbgrader does)."""
    return any(fnmatch.fnmatch(part, glob) for part in relative.parts for glob in globs)


def copy_source(solutions: Path, lab: str, root: Path) -> None:
    """Copy ``solutions/<lab>`` into the scratch course ``root``, without what a run of the lab wrote."""
    shutil.copytree(solutions / lab, root / "solutions" / lab, ignore=shutil.ignore_patterns(*ignored_names()))


def generate(lab: str, root: Path, db_url: str) -> Path:
    """Generate ``lab``'s student version from ``root/solutions`` into ``root/labs``; return its folder."""
    config = load_config(root=str(root), db_url=db_url)
    result = NbGraderAPI(config=config).generate_assignment(lab, force=True, create=True)
    if not result["success"]:
        reason = (result.get("error") or result.get("log") or "no message").strip().splitlines()[-1]
        raise ReleaseError(f"{lab}: nbgrader could not generate the student version: {reason}")
    return root / "labs" / lab


def release(course: Course, labs: Iterable[str] | None = None) -> list[str]:
    """Regenerate ``labs/<lab>`` for each lab (default: all) and remove released labs without a source.

    Returns one line per change made.
    """
    sources = course.source_labs()
    changes = []
    (course.root / "grading").mkdir(exist_ok=True)
    for lab in sources if labs is None else _known(labs, sources):
        target = generate(lab, course.root, course.gradebook_url)
        changes.append(f"released {lab} -> {target.relative_to(course.root)}")
        changes += filter(None, [fingerprints.write(course.root, lab)])
    if labs is None:
        for orphan in sorted(set(course.released_labs()) - set(sources)):
            shutil.rmtree(course.labs / orphan)
            changes.append(f"removed labs/{orphan}: it has no source in solutions/")
    return changes


def check(course: Course) -> list[str]:
    """One line per lab whose ``labs/`` copy differs from what :func:`release` would write; [] if all agree."""
    sources = course.source_labs()
    problems = [f"{lab}: labs/{lab} has no source in solutions/" for lab in course.released_labs() if lab not in sources]
    globs = ignored_names()
    with tempfile.TemporaryDirectory(prefix="check-") as scratch:  # one throw-away gradebook for every lab
        for lab in sources:
            copy_source(course.solutions, lab, Path(scratch))
            built = generate(lab, Path(scratch), f"sqlite:///{Path(scratch) / 'gradebook.db'}")
            differences = _differences(built, course.labs / lab, globs)
            if differences:
                problems.append(f"{lab}: {', '.join(differences)} differ from what release would write")
            elif (course.labs / lab).is_dir():
                problems += filter(None, [fingerprints.outdated(course.root, lab)])
    return problems


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """Each answer cell's solution code (by grade_id), without nbgrader's solution markers."""
    return {cell.metadata["nbgrader"]["grade_id"]: "\n".join(
                line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS)
            for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def with_answers(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose answer cells named in ``answers`` (by grade_id) hold the given code."""
    copy = nbformat.from_dict(notebook)  # a deep copy: every dict and list is rebuilt
    for cell in copy.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in answers:
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    return copy


def solved(course: Course, lab: str) -> nbformat.NotebookNode:
    """The released notebook with every answer from the source: what a perfect student hands in."""
    source = nbformat.read(course.solutions / lab / f"{lab}.ipynb", as_version=4)
    return with_answers(nbformat.read(course.labs / lab / f"{lab}.ipynb", as_version=4), solution_answers(source))


def _known(labs: Iterable[str], sources: list[str]) -> list[str]:
    unknown = [lab for lab in labs if lab not in sources]
    if unknown:
        raise ReleaseError(f"no source notebook for {', '.join(unknown)}; labs in solutions/: {', '.join(sources)}")
    return list(labs)


def _differences(expected: Path, actual: Path, globs: list[str]) -> list[str]:
    """Paths (relative to the lab) that are missing, extra or different in ``actual``, run-time files aside."""
    if not actual.is_dir():
        return ["the whole folder is missing and would be created"]
    want = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
    have = {p.relative_to(actual) for p in actual.rglob("*")
            if p.is_file() and not is_ignored(p.relative_to(actual), globs)}
    changed = [p for p in want & have if not filecmp.cmp(expected / p, actual / p, shallow=False)]
    return [str(p) for p in sorted(changed + list(want ^ have))]
