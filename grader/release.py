"""Generate ``labs/`` (and the tutor's ``course/fingerprints/``) from ``solutions/``, and check that they agree.

Both commands build the student version of each lab the same way, with
nbgrader's ``generate_assignment``. ``release`` runs it in the course itself,
so the lab is also recorded in the instructor's gradebook (the state folder,
``--course-dir``) and plain ``nbgrader autograde`` can grade it; ``check`` runs
it in a scratch course with a throw-away gradebook and compares.
"""

from __future__ import annotations

import filecmp
import fnmatch
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from grader import fingerprints
from grader.errors import GraderError, root_cause
from grader.layout import Course

log = logging.getLogger(__name__)


class ReleaseError(GraderError):
    """nbgrader could not generate a lab's student version."""


def is_ignored(relative: Path, globs: list[str]) -> bool:
    """Whether a path, or a folder it lies in, matches one of ``globs`` (matched on names, as nbgrader does)."""
    return any(fnmatch.fnmatch(part, glob) for part in relative.parts for glob in globs)


def copy_source(course: Course, lab: str, root: Path) -> None:
    """Copy ``solutions/<lab>`` into the scratch course ``root``, without what a run of the lab wrote."""
    shutil.copytree(
        course.solutions / lab, root / "solutions" / lab, ignore=shutil.ignore_patterns(*course.ignore_globs())
    )


def generate(course: Course, lab: str) -> Path:
    """Generate ``lab``'s student version from the course's ``solutions/`` into its ``labs/``; return that folder."""
    course.state.mkdir(parents=True, exist_ok=True)  # the gradebook that records the lab lives there
    result = NbGraderAPI(config=course.config()).generate_assignment(lab, force=True, create=True)
    log.debug("nbgrader generate_assignment %s:\n%s", lab, result.get("log", ""))
    if not result["success"]:
        raise ReleaseError(f"{lab}: nbgrader could not generate the student version: {root_cause(result)}")
    return course.labs / lab


def release(course: Course, labs: Iterable[str] | None = None) -> list[str]:
    """Regenerate ``labs/<lab>`` for each lab (default: all) and remove released labs without a source.

    Returns one line per change made.
    """
    sources = course.source_labs()
    changes = []
    for lab in sources if labs is None else course.require_labs(list(labs)):
        target = generate(course, lab)
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
    problems = [
        f"{lab}: labs/{lab} has no source in solutions/" for lab in course.released_labs() if lab not in sources
    ]
    globs = course.ignore_globs()
    with tempfile.TemporaryDirectory(prefix="check-") as scratch:  # one throw-away gradebook for every lab
        built_in = course.elsewhere(Path(scratch))
        for lab in sources:
            copy_source(course, lab, built_in.root)
            differences = _differences(generate(built_in, lab), course.labs / lab, globs)
            if differences:
                problems.append(f"{lab}: {', '.join(differences)} differ from what release would write")
            elif (course.labs / lab).is_dir():
                problems += filter(None, [fingerprints.outdated(course.root, lab)])
    return problems


def _differences(expected: Path, actual: Path, globs: list[str]) -> list[str]:
    """Paths (relative to the lab) that are missing, extra or different in ``actual``, run-time files aside."""
    if not actual.is_dir():
        return ["the whole folder is missing and would be created"]
    want = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
    have = {
        p.relative_to(actual) for p in actual.rglob("*") if p.is_file() and not is_ignored(p.relative_to(actual), globs)
    }
    changed = [p for p in want & have if not filecmp.cmp(expected / p, actual / p, shallow=False)]
    return [str(p) for p in sorted(changed + list(want ^ have))]
