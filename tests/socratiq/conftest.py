"""Fixtures for the tutor's tests: an isolated home, and the tutor offline or against a real HTTP server."""

from __future__ import annotations

import pytest
from llm_server import ChatServer  # tests/support, on pytest's pythonpath (pyproject.toml)
from online import KEY, online_config

from socratiq_ext import Tutor
from socratiq_ext.config import TutorConfig

LAB = "lab01_data"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test reads the developer's settings or writes into their progress database."""
    for name in (
        "SOCRATIQ_BASE_URL",
        "SOCRATIQ_MODEL",
        "SOCRATIQ_API_KEY",
        "OPENAI_API_KEY",
        "SOCRATIQ_HINT_BUDGET",
        "SOCRATIQ_TIMEOUT",
        "SOCRATIQ_MAX_RETRIES",
        "JPY_SESSION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOCRATIQ_HOME", str(tmp_path / "socratiq"))
    return tmp_path / "socratiq"


@pytest.fixture
def home(isolated):
    return isolated


@pytest.fixture
def offline_tutor(home) -> Tutor:
    return Tutor(LAB, config=TutorConfig(home=home))


@pytest.fixture
def llm():
    with ChatServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def online_tutor(home, llm) -> Tutor:
    return Tutor(LAB, config=online_config(home, llm))
