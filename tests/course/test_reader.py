"""Tests for course.reader: each lab's reading can be shown in its notebook."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.display import Markdown

from course.reader import reading, reading_text

REPO_ROOT = Path(__file__).resolve().parents[2]
# The released labs: the student edition has them too (it has no solutions/).
LABS = sorted(p.parent.name for p in (REPO_ROOT / "labs").glob("*/*.ipynb") if p.stem == p.parent.name)


def test_reading_text_is_the_markdown():
    text = reading_text("lab01_data")
    assert "## Validating raw data" in text.splitlines()


def test_reading_is_markdown_with_the_same_text():
    shown = reading("lab01_data")
    assert isinstance(shown, Markdown)
    assert shown.data == reading_text("lab01_data")


def test_unknown_lab_names_the_known_ones():
    with pytest.raises(KeyError) as excinfo:
        reading_text("lab99_missing")
    message = excinfo.value.args[0]
    assert "lab99_missing" in message
    assert "lab01_data" in message


def test_labs_exist():
    assert LABS, f"no lab notebooks under {REPO_ROOT / 'labs'}"


@pytest.mark.parametrize("lab_id", LABS)
def test_every_lab_has_a_reading(lab_id):
    assert reading_text(lab_id).strip()
