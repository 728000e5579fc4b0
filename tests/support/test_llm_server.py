"""Tests of the test LLM server itself, through the real `openai` client over real HTTP.

They pin down what the tutor's own tests rely on: which exception the client
raises for each failure, that streamed tokens arrive over time, and that the
server closes at once even while a request is stalled.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from llm_server import ChatServer, Fail, Hangup, Malformed, Page, Reply, Stall

KEY = "sk-test-key"
MESSAGES = [{"role": "user", "content": "Why does my model overfit?"}]


@pytest.fixture
def srv() -> Iterator[ChatServer]:
    with ChatServer(api_key=KEY) as server:
        yield server


def client(srv: ChatServer, *, api_key: str = KEY, timeout: float = 5.0, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)


def ask(srv: ChatServer, **kwargs: Any) -> str:
    reply = client(srv, **kwargs).chat.completions.create(model="gpt-test", messages=MESSAGES)
    return reply.choices[0].message.content or ""


def ask_streamed(srv: ChatServer, pieces: list[str], **kwargs: Any) -> str:
    """Collect content deltas into `pieces` (kept when the stream fails midway)."""
    stream = client(srv, **kwargs).chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    return "".join(pieces)


def test_non_stream_reply() -> None:
    with ChatServer(api_key=KEY) as srv:
        srv.script(Reply("What have you tried so far?"))
        reply = client(srv).chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert reply.choices[0].message.content == "What have you tried so far?"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-test"
    assert reply.usage is not None and reply.usage.total_tokens > 0


def test_script_is_consumed_in_order_then_default_applies(srv: ChatServer) -> None:
    srv.script(Reply("one"), Reply("two"))
    assert [ask(srv), ask(srv)] == ["one", "two"]
    assert ask(srv) == srv.default.text


def test_stream_arrives_in_chunks_over_time(srv: ChatServer) -> None:
    srv.script(Reply("abcdefghijklmnop", chunk_size=4, delay=0.05))
    stream = client(srv).chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    roles, pieces, arrived = [], [], []
    for chunk in stream:
        delta = chunk.choices[0].delta
        roles.append(delta.role)
        if delta.content:
            pieces.append(delta.content)
            arrived.append(time.monotonic())
    assert roles[0] == "assistant"
    assert pieces == ["abcd", "efgh", "ijkl", "mnop"]
    assert arrived[-1] - arrived[0] >= 0.1  # tokens were not buffered into one burst


def test_async_client_streams_and_sees_hangups(srv: ChatServer) -> None:
    """The async client runs on another transport (httpx2.AsyncClient); it behaves the same."""
    srv.script(Reply("abcdefgh", chunk_size=4), Hangup("cut"))

    async def collect() -> list[str]:
        aclient = openai.AsyncOpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0, timeout=5)
        pieces: list[str] = []
        try:
            async for chunk in await aclient.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True):
                pieces.append(chunk.choices[0].delta.content or "")
        finally:
            await aclient.close()
        return pieces

    assert "".join(asyncio.run(collect())) == "abcdefgh"
    with pytest.raises(openai.APIConnectionError):
        asyncio.run(collect())


def test_stream_can_include_usage(srv: ChatServer) -> None:
    stream = client(srv).chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_wrong_key_is_refused_and_echoed_by_the_server(srv: ChatServer) -> None:
    srv.script(Reply("never sent"))
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(srv, api_key="sk-wrong-secret")
    # Like the real API, the error text carries the key: whoever shows errors must not show this.
    assert "sk-wrong-secret" in str(caught.value)
    assert ask(srv) == "never sent"  # a refused request does not consume the script


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_http_errors_map_to_openai_exceptions(srv: ChatServer, status: int, error: type, stream: bool) -> None:
    srv.script(Fail(status, message="quota exhausted"))
    with pytest.raises(error) as caught:
        ask_streamed(srv, []) if stream else ask(srv)
    assert caught.value.status_code == status
    assert caught.value.body["message"] == "quota exhausted"  # body is the inner "error" object


def test_retry_after_ms_is_honoured(srv: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Spy on the client's choice of wait, rather than time it: timing is flaky on a busy machine.
    waits: list[float] = []
    choose = openai.OpenAI._calculate_retry_timeout

    def spy(self: openai.OpenAI, *args: object, **kwargs: object) -> float:
        waits.append(choose(self, *args, **kwargs))
        return waits[-1]

    monkeypatch.setattr(openai.OpenAI, "_calculate_retry_timeout", spy)
    srv.script(Fail(429, headers={"retry-after-ms": "10"}), Reply("after the retry"))
    assert ask(srv, max_retries=1) == "after the retry"
    assert waits == [0.01]  # not the default 0.5 s backoff
    assert [r["headers"]["x-stainless-retry-count"] for r in srv.requests] == ["0", "1"]


def test_stall_times_out_and_close_does_not_wait_for_it() -> None:
    start = time.monotonic()
    with ChatServer(api_key=KEY) as srv:
        srv.script(Stall(2))
        with pytest.raises(openai.APITimeoutError):
            ask(srv, timeout=0.3)
    assert time.monotonic() - start < 1.5  # the stalled handler did not hold up close()


def test_close_while_stalled_drops_the_connection() -> None:
    srv = ChatServer(api_key=KEY).start()
    srv.script(Stall(5))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            ask(srv, timeout=5)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    srv.close()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert type(errors[0]) is openai.APIConnectionError


def test_malformed_body_raises_a_plain_json_error(srv: ChatServer) -> None:
    srv.script(Malformed())
    # Not an openai.OpenAIError: the client lets the decoder's error through.
    with pytest.raises(json.JSONDecodeError):
        ask(srv)


def test_malformed_stream_event_raises_a_plain_json_error(srv: ChatServer) -> None:
    srv.script(Malformed())
    with pytest.raises(json.JSONDecodeError):
        ask_streamed(srv, [])


def test_hangup_mid_stream_raises_after_the_partial_text(srv: ChatServer) -> None:
    srv.script(Hangup("half an ans"))
    pieces: list[str] = []
    with pytest.raises(openai.APIConnectionError) as caught:
        ask_streamed(srv, pieces)
    assert "".join(pieces) == "half an ans"
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


def test_hangup_without_stream_raises_connection_error(srv: ChatServer) -> None:
    srv.script(Hangup())
    with pytest.raises(openai.APIConnectionError) as caught:
        ask(srv)
    assert type(caught.value) is openai.APIConnectionError


def test_requests_are_recorded(srv: ChatServer) -> None:
    ask(srv)
    (request,) = srv.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "gpt-test"
    assert request["body"]["messages"] == MESSAGES
    assert request["headers"]["authorization"] == f"Bearer {KEY}"


def test_models_endpoint(srv: ChatServer) -> None:
    models = client(srv).models.list()
    assert [m.id for m in models.data] == [srv.model]


def test_unknown_path_is_404_in_openai_shape(srv: ChatServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(srv.base_url + "/nowhere", timeout=5)
    assert caught.value.code == 404
    assert "message" in json.load(caught.value)["error"]


def test_standalone_process_serves_until_sigterm() -> None:
    script = Path(__file__).with_name("llm_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--reply", "Standalone hello"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        reply = openai.OpenAI(base_url=base_url, api_key="any", max_retries=0, timeout=5).chat.completions.create(
            model="gpt-test", messages=MESSAGES
        )
        assert reply.choices[0].message.content == "Standalone hello"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()


def test_a_stream_can_end_early_without_finish_reason_or_done(srv: ChatServer) -> None:
    srv.script(Reply("half of it", finish_reason=None, done=False), Reply("long", finish_reason="length"))
    chunks = list(client(srv).chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "half of it"
    assert all(c.choices[0].finish_reason is None for c in chunks), "the body ends cleanly, with no finish_reason"
    chunks = list(client(srv).chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True))
    assert chunks[-1].choices[0].finish_reason == "length"


def test_a_stream_can_go_silent_after_its_headers(srv: ChatServer) -> None:
    srv.script(Reply("some", stall=3))
    pieces: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        ask_streamed(srv, pieces, timeout=0.3)
    assert "".join(pieces) == "some"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_page_is_html_with_status_200(srv: ChatServer, stream: bool) -> None:
    srv.script(Page())
    request = urllib.request.Request(
        srv.base_url + "/chat/completions",
        method="POST",
        data=json.dumps({"model": "m", "messages": MESSAGES, "stream": stream}).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and response.headers["content-type"].startswith("text/html")
        assert b"<html>" in response.read()


def test_response_format_is_accepted_or_refused_like_a_real_server(srv: ChatServer) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "q", "schema": {"type": "object"}}}
    srv.script(Reply('{"a": 1}'), Reply('{"b": 2}'))
    create = client(srv).chat.completions.create
    assert create(model="m", messages=MESSAGES, response_format=schema).choices[0].message.content == '{"a": 1}'
    assert srv.requests[-1]["body"]["response_format"] == schema
    with pytest.raises(openai.BadRequestError, match="json_schema.name"):
        create(model="m", messages=MESSAGES, response_format={"type": "json_schema", "json_schema": {}})
    srv.response_formats = ("text", "json_object")
    with pytest.raises(openai.BadRequestError, match="'json_schema' is not supported") as caught:
        create(model="m", messages=MESSAGES, response_format=schema)
    assert caught.value.body["param"] == "response_format"
    reply = create(model="m", messages=MESSAGES, response_format={"type": "json_object"})
    assert reply.choices[0].message.content == '{"b": 2}', "a refused request consumes no scripted reply"
