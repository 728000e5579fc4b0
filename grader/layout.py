"""Where a course keeps everything, known in one place: its labs, its nbgrader configuration, its state.

A course is a folder (``root``) holding ``solutions/`` (the nbgrader source: solutions and
hidden tests) and ``labs/`` (the student version), and a folder for the instructor's state
(``state``, default ``root/grading``, git ignored): the gradebook, submissions, graded copies
and feedback. Release, check, publish, autograde, feedback and export all take a
:class:`Course`, so ``--course-root`` and ``--course-dir`` mean the same to each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

from grader.errors import GraderError

CONFIG_NAME = "nbgrader_config.py"
# The course's configuration as this package ships it: used where a course root has no nbgrader_config.py
# of its own (a scratch course in a test); this repository's root one loads it and may add to it.
PACKAGED_CONFIG = Path(__file__).with_name(CONFIG_NAME)
BUSY_TIMEOUT_S = 120  # parallel graders write to one SQLite gradebook: wait for a lock, never fail on one


class UnknownLab(GraderError):
    """A command named a lab the course has no source notebook for."""


class NoGradebook(GraderError):
    """A command needs grades, and nothing has been graded in this state folder yet."""


@dataclass(frozen=True)
class Course:
    """A course's folders, and its nbgrader configuration pointed at them."""

    root: Path
    state: Path | None = None  # gradebook.db, submitted/, autograded/, feedback/ (default: root/grading)
    settings: Path | None = None  # the nbgrader_config.py to load (default: see config_file)

    def __post_init__(self) -> None:
        root = Path(self.root).resolve()
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "state", Path(self.state).resolve() if self.state else root / "grading")

    def elsewhere(self, root: Path, state: Path | None = None) -> Course:
        """The same course's configuration over other folders: a scratch copy that release or check builds in."""
        return Course(root, state or root, settings=self.config_file)

    @cached_property
    def solutions(self) -> Path:
        """The nbgrader source folder (``CourseDirectory.source_directory``)."""
        return self.root / self.config().CourseDirectory.source_directory

    @cached_property
    def labs(self) -> Path:
        """The student version's folder (``CourseDirectory.release_directory``)."""
        return self.root / self.config().CourseDirectory.release_directory

    @property
    def gradebook(self) -> Path:
        return self.state / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}?timeout={BUSY_TIMEOUT_S}"

    @property
    def submitted(self) -> Path:
        return self.state / "submitted"

    @property
    def autograded(self) -> Path:
        return self.state / "autograded"

    @property
    def feedback(self) -> Path:
        return self.state / "feedback"

    @property
    def config_file(self) -> Path:
        """The ``nbgrader_config.py`` that plain nbgrader reads in this course's root, else the packaged one."""
        if self.settings:
            return self.settings
        own = self.root / CONFIG_NAME
        return own if own.is_file() else PACKAGED_CONFIG

    def config(self) -> Config:
        """The course's nbgrader configuration, with every folder pointed at this course and its state."""
        config = PyFileConfigLoader(self.config_file.name, path=str(self.config_file.parent)).load_config()
        directories = config.CourseDirectory
        directories.root = str(self.root)
        directories.db_url = self.db_url
        directories.submitted_directory = str(self.submitted)
        directories.autograded_directory = str(self.autograded)
        directories.feedback_directory = str(self.feedback)
        return config

    def ignore_globs(self) -> list[str]:
        """Files a lab writes at run time (``CourseDirectory.ignore``): never released, checked or published."""
        return list(self.config().CourseDirectory.ignore)

    def source_labs(self) -> list[str]:
        """Lab ids with a source notebook ``solutions/<lab>/<lab>.ipynb``, in course order."""
        return sorted(p.parent.name for p in self.solutions.glob("*/*.ipynb") if p.stem == p.parent.name)

    def released_labs(self) -> list[str]:
        return sorted(p.name for p in self.labs.iterdir() if p.is_dir()) if self.labs.is_dir() else []

    def require_labs(self, labs: list[str]) -> list[str]:
        """``labs``, when each has a source notebook; else :class:`UnknownLab` naming the labs there are."""
        sources = self.source_labs()
        unknown = [lab for lab in labs if lab not in sources]
        if unknown:
            raise UnknownLab(f"no source notebook for {', '.join(unknown)}; labs in solutions/: {', '.join(sources)}")
        return labs

    def require_gradebook(self) -> None:
        """Raise :class:`NoGradebook` unless something has been graded into this state folder."""
        if not self.gradebook.is_file():
            raise NoGradebook(f"no gradebook at {self.gradebook}: run `python -m grader autograde` first")
