"""The tutor's settings for talking to the tests' LLM server."""

from __future__ import annotations

from pathlib import Path

from llm_server import ChatServer

from socratiq_ext.config import LLMConfig, TutorConfig

KEY = "sk-test-0123456789-SECRET"
# A generated quiz question as the LLM should send it: valid JSON, grounded in Lab 1's reading.
GOOD_QUESTION = {
    "kind": "true_false",
    "prompt": "Caching after random augmentation replays one draw of augmentation every epoch.",
    "answer": True,
    "explanation": "The cache stores the first epoch's augmented elements and serves them again.",
    "section": "Input pipelines with tf.data",
    "topic": "input pipelines",
    "objective": "pipeline",
}


def online_config(home: Path, server: ChatServer, **llm) -> TutorConfig:
    """A config that reaches ``server`` with the right key and short timeouts, overridable per test."""
    settings = dict(base_url=server.base_url, model="tutor-test", api_key=KEY, timeout=2.0, max_retries=0) | llm
    return TutorConfig(home=home, llm=LLMConfig(**settings))
