"""Write the student edition: the course as students receive it, with no answer in it.

This repository is the instructor's: ``solutions/`` holds every solution and
hidden test, ``grading/`` the gradebook, ``grader/`` the tools. Students get a
separate, standalone folder made from it: the released labs, the course
library and content, the SocratiQ tutor, the student-side tests, and a README,
Makefile and ``pyproject.toml`` of its own (from ``grader/edition/``). It is a
git repository with one commit, ready to push where the class clones from.

Before it is written, every line of every solution region and hidden test
that the released labs do not already show is searched for, by content, in
every file of the edition; one found anywhere stops the publication and names
the file, so a hint or a test that quotes a solution never reaches students.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import nbformat

from grader.cells import delimiters
from grader.errors import GraderError
from grader.layout import Course
from grader.release import check

EDITION = Path(__file__).with_name("edition")  # the edition's own README, Makefile and .gitignore
# What students get, besides EDITION's files: paths relative to the course root. The tests are the ones that
# check a student's machine (library, setup cells, tutor offline). tests/course/test_tflite.py stays out: it
# converts a model to INT8 with the very lines Lab 3's `convert` exercise asks students to write.
STUDENT_FILES = (
    "labs",
    "course",
    "socratiq_ext",
    "environment.yml",
    "run.py",
    ".devcontainer",
    "tests/student",
    "tests/support/llm_server.py",
    "tests/course/test_datasets.py",
    "tests/course/test_drift.py",
    "tests/course/test_hardware.py",
    "tests/course/test_measure.py",
    "tests/course/test_quiet.py",
    "tests/course/test_reader.py",
    "tests/course/test_serving.py",
    "tests/course/test_cluster.py",
    "tests/course/test_llm.py",
    "tests/socratiq/conftest.py",
    "tests/socratiq/online.py",
    "tests/socratiq/test_config.py",
    "tests/socratiq/test_guardrails.py",
    "tests/socratiq/test_progress.py",
    "tests/socratiq/test_tutor_offline.py",
)
NEVER_COPIED = ("__pycache__", "*.egg-info", ".ipynb_checkpoints", "*.db", "*.sqlite3")
# Too short, or a bare block header (`except ValueError:`, `with quiet():`), to tell a solution from any code.
MIN_LINE = 20
GENERIC = re.compile(r"^(except\b.*|with [\w.]+\(\)( as \w+)?|try|else|finally):$")


class PublishError(GraderError):
    """The edition cannot be written (a busy folder, an outdated labs/, a leak, or no git)."""


def publish(course: Course, target: Path) -> list[str]:
    """Write the student edition of ``course`` into the new folder ``target``; return its files."""
    target = target.resolve()
    if target.exists() and any(target.iterdir()):
        raise PublishError(f"{target} exists and is not empty: name a new folder for the student edition")
    outdated = check(course)
    if outdated:
        raise PublishError(f"labs/ is out of date ({outdated[0]}): run `python -m grader release` first")
    with tempfile.TemporaryDirectory(prefix="edition-", dir=target.parent if target.parent.is_dir() else None) as tmp:
        staged = Path(tmp) / "edition"
        _stage(course, staged)
        found = leaks(staged, answer_lines(course))
        if found:
            raise PublishError(
                f"{found[0]} quotes a solution or hidden test ({len(found)} such lines in all): "
                "reword it, or keep that file out of the student edition"
            )
        _commit(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.rmdir()
        shutil.move(str(staged), target)
    return sorted(
        str(p.relative_to(target))
        for p in target.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(target).parts
    )


def answer_lines(course: Course) -> set[str]:
    """Each line of the solution regions and hidden tests that the released labs do not show, normalised."""
    lines: set[str] = set()
    public: list[str] = []
    marks = delimiters(course)
    for lab in course.source_labs():
        for cell in nbformat.read(course.solutions / lab / f"{lab}.ipynb", as_version=4).cells:
            regions = marks.solution_regions(cell.source) + marks.hidden_regions(cell.source)
            for body in regions:
                lines |= {line for line in map(_normalised, body.splitlines()) if _distinctive(line)}
        released = course.labs / lab / f"{lab}.ipynb"
        if released.is_file():
            public += [
                _normalised(line)
                for cell in nbformat.read(released, as_version=4).cells
                for line in cell.source.splitlines()
            ]
    shown = "\n".join(public)  # a line the released lab shows, even inside a longer one, is no secret
    return {line for line in lines if line not in shown}


def leaks(folder: Path, lines: set[str]) -> list[str]:
    """``path:line`` for every place under ``folder`` where one of ``lines`` appears, alone or inside a longer line."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary: no source line lives there
        # A notebook keeps each line as a JSON string: read its cells, not its escaped text.
        if path.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        normalised = [_normalised(line) for line in text.splitlines()]
        whole = "\n".join(normalised)
        for answer in sorted(line for line in lines if line in whole):
            number = next(i for i, line in enumerate(normalised, 1) if answer in line)
            found.append(f"{path.relative_to(folder)}:{number}")
    return found


def _stage(course: Course, staged: Path) -> None:
    ignore = shutil.ignore_patterns(*course.ignore_globs(), *NEVER_COPIED)
    for name in STUDENT_FILES:
        source = course.root / name
        if source.is_dir():
            shutil.copytree(source, staged / name, ignore=ignore)
        else:
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staged / name)
    for template in ("README.md", "Makefile"):
        shutil.copy2(EDITION / template, staged / template)
    shutil.copy2(EDITION / "gitignore", staged / ".gitignore")
    (staged / "pyproject.toml").write_text(edition_pyproject(course.root / "pyproject.toml"))


def edition_pyproject(instructor_pyproject: Path) -> str:
    """The edition's ``pyproject.toml``: this course's dependencies, without the grader and instructor tests."""
    project = tomllib.loads(instructor_pyproject.read_text())["project"]
    template = (EDITION / "pyproject.toml.in").read_text()
    return template.format(
        version=project["version"],
        requires_python=project["requires-python"],
        dependencies="".join(f"    {_toml_string(d)},\n" for d in project["dependencies"]),
    )


def _commit(folder: Path) -> None:
    git = shutil.which("git")
    if git is None:
        raise PublishError("git is not installed: install it (the student edition is a git repository)")
    identity = ["-c", "user.name=ML Systems Labs", "-c", "user.email=course@localhost", "-c", "commit.gpgsign=false"]
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        [*identity, "commit", "--quiet", "-m", "Student edition of ML Systems Labs"],
    ):
        result = subprocess.run([git, *args], cwd=folder, capture_output=True, text=True)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise PublishError(f"git {args[-1]} failed in the student edition: {reason}")


def _normalised(line: str) -> str:
    return " ".join(line.split())


def _distinctive(line: str) -> bool:
    return len(line) >= MIN_LINE and not line.startswith("#") and not GENERIC.match(line)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
