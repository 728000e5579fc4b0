"""The tutor's settings for talking to the tests' LLM server."""

from __future__ import annotations

from pathlib import Path

from llm_server import ChatServer

from socratiq_ext.config import LLMConfig, TutorConfig

KEY = "sk-test-0123456789-SECRET"


def online_config(home: Path, server: ChatServer, **llm) -> TutorConfig:
    """A config that reaches ``server`` with the right key and short timeouts, overridable per test."""
    settings = dict(base_url=server.base_url, model="tutor-test", api_key=KEY, timeout=2.0, max_retries=0) | llm
    return TutorConfig(home=home, llm=LLMConfig(**settings))
