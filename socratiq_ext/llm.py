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
# A whole reply may stream for this many times the timeout; past that it is shown as cut off.
REPLY_DEADLINE_FACTOR = 3
# Of each attempt's share of the timeout, the part allowed for connecting; the rest bounds each read.
CONNECT_SHARE = 0.25
# finish_reason values that mean the reply is whole.
COMPLETE = frozenset({"stop", "tool_calls", "function_call"})


class LLMUnavailable(RuntimeError):
    """The LLM could not answer; ``str(error)`` is the one line to show."""


class LLMCutOff(LLMUnavailable):
    """The reply began but did not finish: the text so far may be shown, marked as cut off.

    ``reason`` says why, for when nothing had arrived yet and the answer is the offline one.
    """

    def __init__(self, reason: str):
        super().__init__(f"the reply was cut off: {reason}")
        self.reason = reason


class FormatRefused(LLMUnavailable):
    """The server refused the requested ``response_format`` (HTTP 400): ask again in a plainer one."""


class ChatBackend:
    """Streams chat completions from the configured server, and knows whether it last answered."""

    def __init__(self, config: LLMConfig):
        import openai  # imported here: an offline tutor never pays for it

        self.config = config
        self._openai = openai
        # Retries are made here, not by the client, so that all of them fit in config.timeout.
        self._client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key, max_retries=0)
        self._down_until = 0.0
        self._down_reason: str | None = None
        self._lock = threading.Lock()
        self._formats = list(RESPONSE_FORMATS)  # tried in order; one the server refused is dropped

    @property
    def down_reason(self) -> str | None:
        """Why the server is taken to be offline (it could not be reached or stalled), or None."""
        with self._lock:
            return self._down_reason

    def stream(
        self, messages: list[dict], stop: threading.Event | None = None, response_format: dict | None = None
    ) -> Iterator[str]:
        """Yield the reply's text as it arrives; raise :class:`LLMUnavailable` on any failure, and
        :class:`LLMCutOff` when a reply ends unfinished (the text already yielded is then partial)."""
        self._check_cool_down()
        started, got_text, finish, opened = time.monotonic(), False, None, False
        read_s = self._read_s(self.config.timeout)
        try:
            response, read_s = self._open(messages, response_format)
            opened = True
            with response:
                self._check_content_type(response)
                for chunk in response:
                    self._mark_up()
                    if stop is not None and stop.is_set():
                        return
                    self._check_time(started, got_text)
                    choice = chunk.choices[0] if chunk.choices else None
                    if choice is not None and choice.delta is not None and choice.delta.content:
                        got_text = True
                        yield choice.delta.content
                    if choice is not None and choice.finish_reason:
                        finish = choice.finish_reason
        except LLMUnavailable as error:
            raise self._unless_partial(error, got_text) from None
        except Exception as error:  # noqa: BLE001 - every failure becomes one line, never a traceback
            raise self._unless_partial(self._classify(error, response_format, read_s, opened), got_text) from None
        self._check_finish(finish, got_text)

    def complete_json(
        self, messages: list[dict], stop: threading.Event | None = None, schema: dict | None = None
    ) -> dict:
        """A whole reply parsed as a JSON object. With ``schema``, asked for as structured output the
        standard way (``json_schema``, else ``json_object``, else plain text, as far as the server allows)."""
        while True:
            mode = self._formats[0] if schema is not None else "text"
            try:
                text = "".join(self.stream(messages, stop, _response_format(mode, schema)))
                break
            except FormatRefused:
                with self._lock:
                    if mode in self._formats and len(self._formats) > 1:
                        self._formats.remove(mode)  # remembered: the next quiz asks in the accepted form first
        if stop is not None and stop.is_set():
            raise LLMUnavailable("stopped")
        return _json_object(text)

    # -- one request, within the time budget -------------------------------------------------------
    def _open(self, messages: list[dict], response_format: dict | None):
        """Start the streamed request, retrying within ``config.timeout``; return it and its read timeout."""
        attempts = self.config.max_retries + 1
        deadline = time.monotonic() + self.config.timeout
        extra = {} if response_format is None else {"response_format": response_format}
        for attempt in range(attempts):
            share = max(deadline - time.monotonic(), 0.01) / (attempts - attempt)
            timeout = self._openai.Timeout(self._read_s(share), connect=share * CONNECT_SHARE)
            try:
                response = self._client.chat.completions.create(
                    model=self.config.model, messages=messages, stream=True, timeout=timeout, **extra
                )
                return response, timeout.read
            except Exception as error:
                if attempt + 1 == attempts or not self._retryable(error) or deadline - time.monotonic() < 0.05:
                    if isinstance(error, self._openai.APITimeoutError):
                        raise LLMUnavailable(
                            self._down(
                                f"the LLM ({self.config.describe()}) did not answer within {self.config.timeout:g} s:"
                                " is the server running? Check SOCRATIQ_BASE_URL"
                            )
                        ) from None
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _read_s(share: float) -> float:
        """The read timeout out of one attempt's share of the budget."""
        return share * (1 - CONNECT_SHARE)

    def _retryable(self, error: Exception) -> bool:
        o = self._openai
        return isinstance(error, (o.APIConnectionError, o.RateLimitError, o.InternalServerError))

    def _check_content_type(self, response) -> None:
        """A 200 that is not an event stream is a proxy's or portal's page, not the API: say so."""
        kind = response.response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind != "text/event-stream":
            raise LLMUnavailable(
                self._down(
                    f"the LLM ({self.config.describe()}) answered with what is not an OpenAI-compatible reply"
                    f" (got {kind}): check SOCRATIQ_BASE_URL"
                )
            )

    def _check_time(self, started: float, got_text: bool) -> None:
        """No text within the timeout means offline; a reply still streaming past its deadline is cut off."""
        elapsed = time.monotonic() - started
        if not got_text and elapsed > self.config.timeout:
            raise LLMUnavailable(
                f"the LLM ({self.config.describe()}) did not start its reply within {self.config.timeout:g} s"
            )
        if elapsed > REPLY_DEADLINE_FACTOR * self.config.timeout:
            limit = REPLY_DEADLINE_FACTOR * self.config.timeout
            raise LLMCutOff(f"the LLM ({self.config.describe()}) took too long to finish (over {limit:g} s)")

    def _check_finish(self, finish: str | None, got_text: bool) -> None:
        """The stream ended: whole only if the server said why it stopped, and that reason is a normal end."""
        where = self.config.describe()
        if finish in COMPLETE:
            return
        if finish == "length":
            error = LLMCutOff(
                f"the LLM ({where}) reached its token limit: ask a narrower question or raise the server's output limit"
            )
        elif finish is None:
            error = LLMCutOff(f"the LLM ({where}) ended the stream before finishing its reply: try again")
        else:
            error = LLMCutOff(f"the LLM ({where}) stopped its reply ({finish})")
        raise self._unless_partial(error, got_text)

    @staticmethod
    def _unless_partial(error: LLMUnavailable, got_text: bool) -> LLMUnavailable:
        """A cut-off with no text yet is simply a failure: the offline answer, with the reason."""
        if isinstance(error, LLMCutOff) and not got_text:
            return LLMUnavailable(error.reason)
        return error

    # -- naming failures ---------------------------------------------------------------------------
    def _classify(self, error: Exception, response_format: dict | None, read_s: float, opened: bool) -> LLMUnavailable:
        """The one line for a failure while the reply streamed (``opened``: the headers had come) or before."""
        o, where = self._openai, self.config.describe()
        if opened and isinstance(error, o.APITimeoutError):  # headers (and maybe some text) came, then silence
            return LLMCutOff(self._down(f"the LLM ({where}) stopped answering after {read_s:.1f} s: try again"))
        if opened and isinstance(error, o.APIConnectionError):
            return LLMCutOff(f"the LLM ({where}) dropped the connection mid-reply: try again")
        if isinstance(error, o.BadRequestError) and response_format is not None:
            return FormatRefused(f"the LLM ({where}) refused response_format {response_format.get('type')} (400)")
        return LLMUnavailable(self._describe(error))

    def _check_cool_down(self) -> None:
        """Within the cool-down, fail at once with the reason the server last failed."""
        with self._lock:
            left, reason = self._down_until - time.monotonic(), self._down_reason
        if left > 0:
            reason = reason or f"the LLM ({self.config.describe()}) was unreachable"
            raise LLMUnavailable(f"{reason} (trying again in {left:.0f} s)")

    def _down(self, line: str) -> str:
        """Note that the server is not answering (the status line says offline), and start the cool-down."""
        with self._lock:
            self._down_until = time.monotonic() + COOL_DOWN_S
            self._down_reason = line
        return line

    def _mark_up(self) -> None:
        with self._lock:
            self._down_reason = None

    def _describe(self, error: Exception) -> str:
        o, where = self._openai, self.config.describe()
        if isinstance(error, o.APIConnectionError):
            return self._down(f"the LLM ({where}) cannot be reached: is the server running? Check SOCRATIQ_BASE_URL")
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


RESPONSE_FORMATS = ("json_schema", "json_object", "text")


def _response_format(mode: str, schema: dict | None) -> dict | None:
    """The standard ``response_format`` for a mode; None for plain text (the parameter left out)."""
    if mode == "json_schema" and schema is not None:
        # strict=False: strict mode would demand every property be required, and the schema has optional ones.
        return {"type": "json_schema", "json_schema": {"name": "quiz_question", "schema": schema, "strict": False}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def _json_object(text: str) -> dict:
    """The first ``{...}`` in a reply, parsed (models without structured output like to add prose)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        value = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise LLMUnavailable("the LLM did not answer with a JSON object")
    return value
