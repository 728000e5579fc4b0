"""The extension in a real kernel: load it, fail an exercise's cell, and get help on the right exercise."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab01_data"
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def kernel(tmp_path, home):
    """A kernel started the way JupyterLab starts one: in the notebook's folder."""
    folder = tmp_path / LAB
    folder.mkdir()
    shutil.copy(ROOT / "labs" / LAB / f"{LAB}.ipynb", folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCRATIQ_", "OPENAI_"))} | {
        "SOCRATIQ_HOME": str(home)
    }
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder), env=env)
    yield client, folder
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str) -> tuple[list[dict], dict]:
    """Execute a cell; return its outputs and its reply."""
    outputs = []
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: outputs.append(msg))
    return [m for m in outputs if m["msg_type"] in {"stream", "display_data", "execute_result", "error"}], reply[
        "content"
    ]


def answer_cell(folder: Path, grade_id: str) -> str:
    cells = nbformat.read(folder / f"{LAB}.ipynb", as_version=4).cells
    return next(c.source for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_a_failing_exercise_cell_gets_a_hint_for_that_exercise(kernel):
    client, folder = kernel
    outputs, reply = run(client, "%load_ext socratiq_ext\n%socratiq")
    assert reply["status"] == "ok", outputs
    assert any(WIDGET in m["content"].get("data", {}) for m in outputs), "the panel is displayed as a widget"

    run(client, "import numpy as np\nfrom course import datasets")
    run(client, answer_cell(folder, "lab01-split-near_duplicate_groups"))  # the student's unsolved stub
    run(client, answer_cell(folder, "lab01-validate-check_record"))
    outputs, reply = run(client, "groups = near_duplicate_groups(np.zeros((3, 64)), radius=1.0)")
    assert reply["status"] == "error" and reply["ename"] == "NotImplementedError"

    probe = (
        "import json\nfrom socratiq_ext import Tutor\nt = Tutor()\nh, e = t.hint(), t.explain_error()\n"
        "print(json.dumps({'lab': t.lab, 'hint': h.grade_id, 'level': h.level, 'explain': e.grade_id, 'text': e.text}))"
    )
    outputs, reply = run(client, probe)
    assert reply["status"] == "ok", outputs
    seen = json.loads("".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream"))
    assert seen["lab"] == LAB
    assert seen["hint"] == seen["explain"] == "lab01-split-near_duplicate_groups"
    assert seen["level"] == 1 and "NotImplementedError" in seen["text"] and "near_duplicate_groups" in seen["text"]


def test_an_unknown_lab_or_a_broken_setting_is_one_line_in_the_cell(kernel, home):
    client, _ = kernel
    outputs, reply = run(client, "%load_ext socratiq_ext\n%socratiq lab99_nothing")
    assert reply["status"] == "ok"
    text = "".join(m["content"].get("text", "") for m in outputs)
    assert text.startswith("SocratiQ: ") and text.count("\n") == 1 and "lab01_data" in text
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[llm]\nbase_url = "localhost:11434"\n')
    outputs, reply = run(client, "%socratiq lab01_data")
    text = "".join(m["content"].get("text", "") for m in outputs)
    assert reply["status"] == "ok" and text.startswith("SocratiQ: ") and "base_url" in text and text.count("\n") == 1


def test_a_click_streams_widget_updates_out_of_the_kernel(kernel):
    """The reply is written from a worker thread: its updates must still reach the front end."""
    client, _ = kernel
    run(client, "%load_ext socratiq_ext")
    updates = []

    def hook(msg):
        if msg["msg_type"] == "comm_msg":
            updates.append(json.dumps(msg["content"]["data"].get("state", {})))

    code = "from socratiq_ext import Tutor\nfrom socratiq_ext.panel import TutorPanel\np = TutorPanel(Tutor())\np.hint_button.click()\np.wait(10)"
    reply = client.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok"
    assert any("Hint 1/4" in update for update in updates), "the hint reached the front end as a widget update"
    assert any('"disabled": false' in update for update in updates), "the buttons were enabled again"
