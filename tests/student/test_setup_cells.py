"""Every lab's setup cell runs on this machine: its libraries import, its device loads, its tutor opens.

A student runs this (``make test`` in the student edition) before the first lab,
so a broken install shows up as one failing test, not in the middle of a lab.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

LABS = sorted((Path(__file__).resolve().parents[2] / "labs").glob("*/*.ipynb"))


def test_there_are_labs():
    assert LABS, "labs/ holds no notebook"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_the_setup_cell_runs(path: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_HOME", str(tmp_path / "socratiq"))
    notebook = nbformat.read(path, as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    notebook.cells = [setup]
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [f"{o.ename}: {o.evalue}" for o in setup.outputs if o.output_type == "error"]
    assert errors == [], f"{path.stem}'s setup cell failed: {errors}"
    printed = "".join(o.get("text", "") for o in setup.outputs)
    widgets = [o for o in setup.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert printed.strip(), "the setup cell prints the target device and its budget"
    assert widgets, "the setup cell opens the SocratiQ panel"
