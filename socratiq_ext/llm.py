"""The tutor's line to an OpenAI-compatible server, with every failure turned into one line.

The ``openai`` client does the HTTP, retries and timeouts; this module decides
what a student reads when the server is down, refuses the key, is rate-limited
or answers nonsense, and never lets the key reach that text.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator

from socratiq_ext.config import LLMConfig

# After the server could not be reached, answer offline at once for a while instead of
# making every click wait for a timeout.
COOL_DOWN_S = 30.0
# A whole reply may take this many times the per-request timeout.
REPLY_DEADLINE_FACTOR = 3


class LLMUnavailable(RuntimeError):
    """The LLM could not answer; ``str(error)`` is the one line to show."""


class ChatBackend:
    """Streams chat completions from the configured server."""

    def __init__(self, config: LLMConfig):
        import openai  # imported here: an offline tutor never pays for it

        self.config = config
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=config.api_key, timeout=config.timeout, max_retries=config.max_retries
        )
        self._down_until = 0.0
        self._lock = threading.Lock()

    def stream(self, messages: list[dict], stop: threading.Event | None = None) -> Iterator[str]:
        """Yield the reply's text as it arrives; raise :class:`LLMUnavailable` on any failure."""
        self._check_cool_down()
        # The client's timeout bounds each read; a reply that trickles in slowly is bounded here.
        deadline, started = time.monotonic() + REPLY_DEADLINE_FACTOR * self.config.timeout, False
        try:
            response = self._client.chat.completions.create(model=self.config.model, messages=messages, stream=True)
            with response:
                for chunk in response:
                    started = True
                    if stop is not None and stop.is_set():
                        return
                    if time.monotonic() > deadline:
                        raise LLMUnavailable(f"the LLM ({self.config.describe()}) took too long to finish its reply")
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except LLMUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes one line, never a traceback
            if started and isinstance(error, self._openai.APIConnectionError):
                raise LLMUnavailable(f"the LLM ({self.config.describe()}) dropped the connection mid-reply: try again") from None
            raise LLMUnavailable(self._describe(error)) from None

    def complete_json(self, messages: list[dict], stop: threading.Event | None = None) -> dict:
        """A whole reply parsed as a JSON object (the first ``{...}`` in it, as models like to add prose)."""
        text = "".join(self.stream(messages, stop))
        if stop is not None and stop.is_set():
            raise LLMUnavailable("stopped")
        match = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            value = json.loads(match.group(0)) if match else None
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise LLMUnavailable("the LLM did not answer with a JSON object")
        return value

    def _check_cool_down(self) -> None:
        with self._lock:
            left = self._down_until - time.monotonic()
        if left > 0:
            raise LLMUnavailable(f"the LLM ({self.config.describe()}) was unreachable; trying again in {left:.0f} s")

    def _describe(self, error: Exception) -> str:
        o, where = self._openai, self.config.describe()
        if isinstance(error, (o.APITimeoutError, o.APIConnectionError)):
            with self._lock:
                self._down_until = time.monotonic() + COOL_DOWN_S
            verb = "did not answer in time" if isinstance(error, o.APITimeoutError) else "cannot be reached"
            return f"the LLM ({where}) {verb}: is the server running? Check SOCRATIQ_BASE_URL"
        if isinstance(error, o.AuthenticationError):
            return f"the LLM ({where}) refused the API key (401): set SOCRATIQ_API_KEY to a valid key"
        if isinstance(error, o.PermissionDeniedError):
            return f"the LLM ({where}) denied access (403): check the key's permissions"
        if isinstance(error, o.NotFoundError):
            return f"the LLM ({where}) has no such model or endpoint (404): check SOCRATIQ_MODEL and SOCRATIQ_BASE_URL"
        if isinstance(error, o.RateLimitError):
            return f"the LLM ({where}) is rate-limiting requests (429): wait a minute and try again"
        if isinstance(error, o.InternalServerError):
            return f"the LLM ({where}) had a server error ({error.status_code}): try again later"
        if isinstance(error, o.APIStatusError):
            return f"the LLM ({where}) answered HTTP {error.status_code}: check the server's settings"
        return f"the LLM ({where}) sent a reply SocratiQ could not read ({type(error).__name__})"
