"""What went wrong while a notebook was graded, kept beside its graded copy for feedback and the summary.

:class:`grader.execute.SandboxedExecute` writes it as the run ends, and
:func:`grader.autograde.explain` when a notebook could not be run at all; feedback and
export read it. It lives in a module of its own so that reading it never imports the
executor, its kernel manager or ipykernel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

FAULTS_FILE = "grader.json"


def write_faults(folder: Path, faults: Sequence[str], isolation: str, notes: Sequence[str] = ()) -> None:
    """Keep why a notebook's run stopped or went wrong, and what the grader changed in it."""
    record = {"faults": list(faults), "notes": list(notes), "sandbox": isolation}
    (folder / FAULTS_FILE).write_text(json.dumps(record, indent=1))


def read_faults(folder: Path) -> dict:
    """What was recorded for one graded notebook folder (``{}`` when nothing was)."""
    path = folder / FAULTS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
