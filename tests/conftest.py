"""The suite's order: its longest files first.

pytest-xdist gives each of its two workers whole files, in collection order (see ``addopts`` in
pyproject.toml); a long file collected last would run alone at the end while the other worker waits.
So the files that take minutes go first: the student edition's own install and suite, the class hub's term, the labs'
grading proofs, the grader's end-to-end tests, then nbval over the solutions.
"""

from __future__ import annotations

import pytest

LONGEST_FIRST = (
    "tests/e2e/test_student_edition.py",
    "tests/e2e/test_hub.py",
    "tests/labs/",
    "tests/grader/",
    "solutions/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: each file keeps its own order
