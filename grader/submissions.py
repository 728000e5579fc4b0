"""Find each student's notebook in a folder or an LMS zip, and stage it where nbgrader looks.

Accepted layouts, for a lab ``LAB``:

- ``<student>/LAB.ipynb`` and nbgrader's own ``<student>/LAB/LAB.ipynb``, in a
  folder or inside a zip (under one top folder or none);
- Canvas's flat download, ``<name>[_LATE]_<user id>_<submission id>_<file>.ipynb``,
  where the Canvas user id becomes the student id (``export --format canvas``
  gives it back);
- Moodle's ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb``.

Originals are never modified: notebooks are copied into the course's
``submitted/<student>/LAB/LAB.ipynb``. A zip member that would land outside
the extraction folder, or that is larger than :data:`MAX_NOTEBOOK_BYTES`, is
skipped with a message, never written.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat

from grader.errors import GraderError

MAX_NOTEBOOK_BYTES = 64 * 1024**2
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
CANVAS_NAME = re.compile(r"^[^_]+(?:_LATE)?_(?P<student>\d+)_\d+_(?P<file>.+)$")
MOODLE_FOLDER = re.compile(r"^.+_(?P<student>\d+)_assignsubmission_file_?$")


class SubmissionsError(GraderError):
    """The submissions cannot be read (a missing path, a broken zip), or hold none of the student asked for."""


@dataclass(frozen=True)
class Submission:
    """One student's notebook for a lab: where it came from, and its bytes."""

    student: str
    origin: str  # the path in the folder or zip, for messages
    content: bytes

    def problem(self) -> str | None:
        """Why this file cannot be graded as a notebook, or None."""
        try:
            nbformat.validate(nbformat.reads(self.content.decode("utf-8"), as_version=4))
        except Exception as error:  # noqa: BLE001 -- any reason a notebook does not load is reported
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"{self.origin} is not a valid notebook ({reason[:120]})"
        return None


def collect(source: Path, lab: str, student: str | None = None) -> tuple[list[Submission], list[str]]:
    """Every student's ``lab`` notebook in ``source`` (or only ``student``'s), and one line per file skipped."""
    submissions, skipped = _collect(source, lab)
    if student is not None:
        submissions = [s for s in submissions if s.student == student]
        if not submissions:
            raise SubmissionsError(f"no submission of {lab} by {student!r} in {source}")
    return submissions, skipped


def _collect(source: Path, lab: str) -> tuple[list[Submission], list[str]]:
    if not source.exists():
        raise SubmissionsError(f"{source} does not exist: give a folder of <student>/{lab}.ipynb or an LMS zip")
    if source.is_dir():
        files = [
            (str(p.relative_to(source)), p.stat().st_size, p.read_bytes)
            for p in sorted(source.rglob("*.ipynb"))
            if ".ipynb_checkpoints" not in p.parts
        ]
        return _match(files, lab)
    if not zipfile.is_zipfile(source):
        raise SubmissionsError(f"{source} is neither a folder nor a zip file: download the LMS export again")
    try:
        with zipfile.ZipFile(source) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".ipynb") and not m.is_dir()]
            files = [(m.filename, m.file_size, _reader(archive, m)) for m in members]
            return _match(files, lab)
    except (zipfile.BadZipFile, OSError) as error:
        raise SubmissionsError(f"{source} is a damaged zip ({error}): download the LMS export again") from error


def _reader(archive: zipfile.ZipFile, member: zipfile.ZipInfo):
    def read() -> bytes:
        with archive.open(member) as stream:  # read at most the cap, whatever the header claims
            return stream.read(MAX_NOTEBOOK_BYTES + 1)

    return read


def _match(files, lab: str) -> tuple[list[Submission], list[str]]:
    found: dict[str, Submission] = {}
    skipped = []
    for name, size, read in files:
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or "__MACOSX" in path.parts:
            skipped.append(f"{name}: skipped, a path outside the submission folder")
            continue
        student = student_of(path, lab)
        if student is None:
            continue
        if not STUDENT_ID.match(student):
            skipped.append(f"{name}: skipped, {student!r} is not a usable student id (letters, digits, _ . @ -)")
            continue
        if size > MAX_NOTEBOOK_BYTES:
            skipped.append(f"{name}: skipped, larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB")
            continue
        content = read()
        if len(content) > MAX_NOTEBOOK_BYTES:
            skipped.append(f"{name}: skipped, larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB")
            continue
        if student in found:
            skipped.append(f"{name}: skipped, {student} already has {found[student].origin}")
            continue
        found[student] = Submission(student, name, content)
    return sorted(found.values(), key=lambda s: s.student), skipped


def student_of(path: PurePosixPath, lab: str) -> str | None:
    """The student a file belongs to, by layout; None for files that are not this lab's notebook."""
    notebook = f"{lab}.ipynb"
    parts = path.parts
    canvas = CANVAS_NAME.match(path.name)
    if canvas and canvas["file"].startswith(lab) and canvas["file"].endswith(".ipynb"):
        return canvas["student"]  # Canvas renames re-uploads lab01_data-1.ipynb: still the lab's notebook
    if path.name != notebook:
        return None
    folders = list(parts[:-1])
    if folders and folders[-1] == lab:  # nbgrader's <student>/<lab>/<lab>.ipynb
        folders.pop()
    if not folders:
        return None
    moodle = MOODLE_FOLDER.match(folders[-1])
    return moodle["student"] if moodle else folders[-1]


def stage(submissions: list[Submission], submitted: Path, lab: str) -> None:
    """Copy each notebook to nbgrader's ``submitted/<student>/<lab>/<lab>.ipynb``, replacing an older one."""
    for submission in submissions:
        folder = submitted / submission.student / lab
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_bytes(submission.content)
