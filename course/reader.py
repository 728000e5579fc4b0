"""Each lab's reading, shown inside the notebook.

JupyterLab opens on ``labs/``, so a relative link to ``course/readings`` would
point outside what the student can browse: the reading is rendered in place.
"""

from __future__ import annotations

from importlib import resources

from IPython.display import Markdown


def reading_text(lab_id: str) -> str:
    """Return the Markdown source of a lab's reading (``course/readings/<lab_id>.md``)."""
    path = resources.files("course") / "readings" / f"{lab_id}.md"
    if not path.is_file():
        known = sorted(p.name.removesuffix(".md") for p in path.parent.iterdir() if p.name.endswith(".md"))
        raise KeyError(f"no reading for lab {lab_id!r}; readings exist for: {', '.join(known)}")
    return path.read_text(encoding="utf-8")


def reading(lab_id: str) -> Markdown:
    """Return a lab's reading as rendered Markdown: the last line of a cell displays it."""
    return Markdown(reading_text(lab_id))
