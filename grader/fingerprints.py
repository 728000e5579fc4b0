"""Write ``course/fingerprints/<lab>.json`` from ``solutions/``: what the tutor may know of the answers.

The SocratiQ tutor must recognise a solution in an LLM's reply however it is dressed, yet the
student edition must hold no solution text. So release turns each exercise's solution region
into salted hashes (see :mod:`socratiq_ext.fingerprints`). Hashes that public material
shares (the notebook shows ``np.asarray(x, dtype=...)`` too) are kept: a reply that repeats them
spends the budget like any other, which measured better than leaving them out (``python -m bench.guard``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

from grader.cells import Delimiters, delimiters, grade_id, is_answer
from grader.layout import Course
from socratiq_ext.fingerprints import fingerprint, lab_json

# The salt is a namespace, not a secret (it ships with the hashes): derived from the lab, so a release
# writes the same file every time and `python -m grader check` can compare.
SALT_PREFIX = b"ML Systems Labs / SocratiQ fingerprints / "


def solution_code(source: nbformat.NotebookNode, marks: Delimiters | None = None) -> dict[str, str]:
    """Each code answer cell's solution regions (by grade_id): the code students must write themselves."""
    marks = marks or delimiters()
    regions = {grade_id(cell): marks.solution_regions(cell.source) for cell in source.cells if is_answer(cell)}
    return {name: "\n".join(found) for name, found in regions.items() if found}


def lab_fingerprints(root: Path, lab: str) -> str:
    """The fingerprint file's text for ``lab`` of the course at ``root``."""
    source = nbformat.read(root / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    salt = hashlib.blake2b(SALT_PREFIX + lab.encode(), digest_size=16).digest()
    regions = solution_code(source, delimiters(Course(root)))
    return lab_json(lab, salt, {name: fingerprint(code, salt) for name, code in regions.items()})


def fingerprint_path(root: Path, lab: str) -> Path:
    return root / "course" / "fingerprints" / f"{lab}.json"


def write(root: Path, lab: str) -> str | None:
    """Write the lab's fingerprint file when the course has a ``course/`` folder; return the change made."""
    if not (root / "course").is_dir():
        return None
    path = fingerprint_path(root, lab)
    path.parent.mkdir(exist_ok=True)
    path.write_text(lab_fingerprints(root, lab), encoding="utf-8")
    return f"fingerprinted {lab} -> {path.relative_to(root)}"


def outdated(root: Path, lab: str) -> str | None:
    """A line naming the lab's fingerprint file when it differs from what release would write; else None."""
    if not (root / "course").is_dir():
        return None
    path = fingerprint_path(root, lab)
    if not path.is_file() or path.read_text(encoding="utf-8") != lab_fingerprints(root, lab):
        return f"{lab}: {path.relative_to(root)} differs from what release would write"
    return None
