"""The dev container (``.devcontainer/``, for VS Code and Codespaces on any OS) builds the course the way
``run.py`` does, on a Python the project accepts, and opens JupyterLab on the labs. Building the image
needs Docker, which this machine lacks: what can be checked without it is checked here."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
CONTAINER = json.loads((REPO / ".devcontainer" / "devcontainer.json").read_text())


def test_the_image_has_a_python_the_project_accepts():
    python = re.search(r"python:\d+-(\d+\.\d+)-", CONTAINER["image"]).group(1)
    accepted = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    assert f"{python}.0" in accepted


def test_it_installs_and_opens_the_labs_with_run_py():
    assert CONTAINER["postCreateCommand"] == "python run.py install"  # the one dependency list: pyproject.toml
    command = CONTAINER["postAttachCommand"].split()
    assert command[:3] == ["python", "run.py", "lab"] and "--ServerApp.ip=0.0.0.0" in command
    assert 8888 in CONTAINER["forwardPorts"]
