"""A real OpenAI-compatible HTTP server for tests, standard library only.

Why a real server: the tutor talks to its LLM through the real ``openai``
client, and openai 3.x sends requests through ``httpx2``, which mocking
libraries such as ``respx`` do not intercept. Serving real HTTP on 127.0.0.1
also exercises what a mock cannot: streamed bytes arriving over time, client
timeouts, connections cut mid-stream and bodies that are not JSON.

Tests script the server with behaviours, consumed one per chat request::

    with ChatServer(api_key="sk-test") as srv:
        srv.script(Reply("Why do you think so?", delay=0.05), Fail(429))
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
        ...

It also runs as a process of its own, for browser end-to-end tests::

    python tests/support/llm_server.py --port 0 --reply "What do you notice?"

prints the base URL on one line and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

DEFAULT_REPLY_TEXT = "Good question. Before I answer, what do you expect to happen, and why?"
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass
class Reply:
    """A normal completion.

    ``delay`` makes tokens arrive over time, so tests can see streaming
    (and a slow non-stream reply) the way a user would.

    The ending is scriptable, to play servers that stop early: ``finish_reason``
    ``None`` sends no final chunk ("length" plays a server cut at its token
    limit), ``done=False`` leaves out ``data: [DONE]`` (the body still ends
    cleanly), and ``stall`` goes silent for that many seconds after the text
    (headers and part of the stream sent, then nothing) before hanging up.
    """

    text: str
    chunk_size: int = 4  # characters per streamed delta
    delay: float = 0.0  # seconds before each streamed chunk, and before a non-stream reply
    finish_reason: str | None = "stop"
    done: bool = True
    stall: float = 0.0


@dataclass
class Fail:
    """An HTTP error in OpenAI's shape ``{"error": {"message", "type", "code"}}``.

    The ``openai`` client maps the status to its exception class (401 →
    AuthenticationError, 429 → RateLimitError, >= 500 → InternalServerError)
    and reads ``headers`` such as ``retry-after-ms`` when it retries.
    """

    status: int
    message: str = "Simulated error from the test LLM server."
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stall:
    """Accept the request, then wait ``seconds`` before answering with the default reply.

    Used to trigger client timeouts. The wait ends early when the server
    closes, so a stalled request never holds up ``ChatServer.close()``.
    """

    seconds: float


@dataclass
class Malformed:
    """Answer 200 with a body that is not valid JSON.

    Non-stream: the body, labelled ``application/json``, is truncated JSON.
    Stream: the first SSE ``data:`` line is truncated JSON.
    """


@dataclass
class Hangup:
    """Send part of an answer, then close the connection abruptly.

    Stream: ``text`` arrives as ordinary deltas, then the connection closes
    without ``data: [DONE]`` and without the final chunk of the chunked
    encoding, so the client can tell the answer was cut. Non-stream: the
    headers promise a full body, and only half of it is sent.
    """

    text: str = "partial"


@dataclass
class Page:
    """Answer with a body that is not the API at all, e.g. a proxy's or a captive portal's HTML login page.

    Served with status 200 whatever the request asked for (stream or not), as such proxies do.
    """

    body: str = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Log in</form></body></html>"
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


Behaviour = Union[Reply, Fail, Stall, Malformed, Hangup, Page]
# The ``response_format`` types an OpenAI server accepts; a server's ``response_formats`` may list fewer.
RESPONSE_FORMATS = ("text", "json_object", "json_schema")

_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(status, ("server_error", "server_error"))
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _check_response_format(value: Any, accepted: tuple[str, ...]) -> str | None:
    """Why a request's ``response_format`` is refused (400), or None: the checks OpenAI's API makes,
    and a refusal of the types this server lacks, in the words servers without them use."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in RESPONSE_FORMATS:
        return f"Invalid value for 'response_format.type': {kind!r}. Expected one of {list(RESPONSE_FORMATS)}."
    if kind not in accepted:
        return f"Invalid parameter: 'response_format' of type '{kind}' is not supported with this model."
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            return "Missing required parameter: 'response_format.json_schema.name'."
        if not isinstance(spec.get("schema", {}), dict):
            return "Invalid type for 'response_format.json_schema.schema': expected an object."
    return None


class _HTTPServer(ThreadingHTTPServer):
    """Daemon handler threads, and ``server_close`` does not wait for them."""

    daemon_threads = True
    block_on_close = False
    chat: ChatServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that times out or hangs up is normal here; anything else is a bug worth seeing.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Speaks HTTP/1.1 and closes each connection after one response.

    ``Connection: close`` keeps the client from reusing a connection that a
    behaviour (Hangup) or ``close()`` has cut. Streams use chunked encoding,
    so an abrupt close mid-stream is a protocol error the client notices,
    not a silently short body.
    """

    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    disable_nagle_algorithm = True  # small SSE events leave at once
    timeout = 30  # a silent client must not hold a thread forever
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: request logs would clutter test output."""

    # --- routing -----------------------------------------------------------

    def do_GET(self) -> None:
        self.close_connection = True
        chat = self.server.chat
        path = self.path.split("?", 1)[0]
        if path.rstrip("/") == "/v1/models":
            if self._authorised():
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": chat.model, "object": "model", "created": 1700000000, "owned_by": "test"}],
                    },
                )
        else:
            self._send_json(404, _error_body(404, f"Unknown path: GET {path}"))

    def do_POST(self) -> None:
        self.close_connection = True
        chat = self.server.chat
        path = self.path.split("?", 1)[0]
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(404, f"Unknown path: POST {path}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        chat._record({"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}, "path": path})
        if not isinstance(body, dict):
            self._send_json(400, _error_body(400, "The request body is not a JSON object."))
            return
        if not self._authorised():
            return
        refusal = _check_response_format(body.get("response_format"), chat.response_formats)
        if refusal is not None:  # refused before any behaviour is consumed, like a real server's validation
            self._send_json(400, _error_body(400, refusal, param="response_format"))
            return
        self._act(chat._next_behaviour(), body)

    def do_OPTIONS(self) -> None:
        """CORS preflight, so that a page in a browser test may call the server directly."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Connection", "close")
        super().end_headers()

    def _authorised(self) -> bool:
        """Check the bearer key; like the real API, the 401 message echoes the key received."""
        expected = self.server.chat.api_key
        if expected is None:
            return True
        header = self.headers.get("authorization", "")
        received = header[len("Bearer ") :] if header.startswith("Bearer ") else header
        if received == expected:
            return True
        self._send_json(401, _error_body(401, f"Incorrect API key provided: {received}"))
        return False

    # --- behaviours ----------------------------------------------------------

    def _act(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
        chat = self.server.chat
        stream = bool(body.get("stream"))
        model = str(body.get("model") or chat.model)
        if isinstance(behaviour, Stall):
            if chat._sleep(behaviour.seconds):
                self._hang_up()  # server closing: drop the connection unanswered
                return
            behaviour = chat.default
        if isinstance(behaviour, Page):
            self._send_bytes(behaviour.status, behaviour.body.encode(), behaviour.content_type)
        elif isinstance(behaviour, Fail):
            self._send_json(behaviour.status, _error_body(behaviour.status, behaviour.message), behaviour.headers)
        elif isinstance(behaviour, Malformed):
            if stream:
                self._start_stream()
                self._send_chunk(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n')
                self._send_chunk(b"data: [DONE]\n\n")
                self._send_chunk(b"")
            else:
                self._send_bytes(
                    200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [', "application/json"
                )
        elif isinstance(behaviour, Hangup):
            if stream:
                self._start_stream()
                self._stream_deltas(chat._completion_id(), model, behaviour.text, 4, 0.0)
            else:
                data = json.dumps(_completion(chat._completion_id(), model, behaviour.text, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
            self._hang_up()
        elif stream:
            self._stream_reply(behaviour, model, body)
        else:
            if chat._sleep(behaviour.delay):
                self._hang_up()
                return
            completion = _completion(chat._completion_id(), model, behaviour.text, body)
            completion["choices"][0]["finish_reason"] = behaviour.finish_reason
            self._send_json(200, completion)

    def _stream_reply(self, reply: Reply, model: str, body: dict[str, Any]) -> None:
        chat = self.server.chat
        ident = chat._completion_id()
        self._start_stream()
        if not self._stream_deltas(ident, model, reply.text, reply.chunk_size, reply.delay):
            self._hang_up()
            return
        if reply.stall > 0:
            chat._sleep(reply.stall)  # silent: the client's read timeout should fire first
            self._hang_up()
            return
        if reply.finish_reason is not None:
            self._send_event(_chunk(ident, model, {}, reply.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = _chunk(ident, model, {}, None)
            usage_chunk["choices"] = []
            usage_chunk["usage"] = _usage(body, reply.text)
            self._send_event(usage_chunk)
        if reply.done:
            self._send_chunk(b"data: [DONE]\n\n")
        self._send_chunk(b"")  # end of the chunked body

    def _stream_deltas(self, ident: str, model: str, text: str, size: int, delay: float) -> bool:
        """Send the role chunk, then ``text`` in pieces. False if the server began closing."""
        chat = self.server.chat
        self._send_event(_chunk(ident, model, {"role": "assistant", "content": "", "refusal": None}, None))
        size = max(1, size)
        for start in range(0, len(text), size):
            if chat._sleep(delay):
                return False
            self._send_event(_chunk(ident, model, {"content": text[start : start + size]}, None))
        return True

    # --- wire helpers --------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{self.server.chat._completion_id()}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_event(self, payload: dict[str, Any]) -> None:
        self._send_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _send_chunk(self, data: bytes) -> None:
        """One chunk of the chunked encoding, flushed at once; empty data ends the body."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _hang_up(self) -> None:
        """Close the connection now, without finishing the body."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _chunk(ident: str, model: str, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def _completion(ident: str, model: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(body, text),
    }


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    """Token counts are word counts: plausible numbers, not a tokenizer."""
    messages = body.get("messages") or []
    prompt = sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict))
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class ChatServer:
    """An OpenAI-compatible server on 127.0.0.1 (ephemeral port), served from a daemon thread.

    A context manager: ``with ChatServer() as srv:`` starts it and closes it.
    """

    def __init__(
        self,
        api_key: str | None = None,
        default: Reply | None = None,
        *,
        model: str = DEFAULT_MODEL,
        host: str = "127.0.0.1",
        port: int = 0,
        response_formats: tuple[str, ...] = RESPONSE_FORMATS,
    ) -> None:
        """``api_key``: when set, chat and model requests must carry ``Authorization: Bearer <api_key>``.
        ``response_formats``: the ``response_format`` types accepted; others get a 400 (settable later, e.g.
        ``("text",)`` plays a server without structured output).
        ``default``: the behaviour when no scripted behaviour is queued (a plain question back).
        ``model``: the model listed by ``GET /v1/models`` (completions echo the requested model).
        """
        self.api_key = api_key
        self.default = default or Reply(DEFAULT_REPLY_TEXT)
        self.model = model
        self.response_formats = tuple(response_formats)
        self._address = (host, port)
        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the ``base_url`` for ``openai.OpenAI``."""
        if self._httpd is None:
            raise RuntimeError("ChatServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of every chat request received, oldest first.

        Each is ``{"body": parsed JSON, "headers": {lower-case name: value}, "path": str}``.
        """
        with self._lock:
            return list(self._requests)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each chat request consumes the next, then ``default`` applies."""
        with self._lock:
            self._queue.extend(behaviours)

    def start(self) -> ChatServer:
        """Bind the port and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        self._stop.clear()
        httpd = _HTTPServer(self._address, _Handler)
        httpd.chat = self
        self._httpd = httpd
        # A short poll interval keeps close() quick.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-test-server", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving at once: stalled or delayed handlers wake up and drop their connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- used by the handler ---------------------------------------------------

    def _record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _completion_id(self) -> str:
        return f"chatcmpl-test{next(self._ids)}"

    def _sleep(self, seconds: float) -> bool:
        """Wait, waking early when the server closes. True if it is closing."""
        if seconds <= 0:
            return self._stop.is_set()
        return self._stop.wait(seconds)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, after printing the base URL on one line."""
    parser = argparse.ArgumentParser(description="OpenAI-compatible test LLM server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--reply", default=DEFAULT_REPLY_TEXT, help="text of every reply")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each streamed chunk")
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with ChatServer(
        api_key=args.api_key,
        default=Reply(args.reply, delay=args.delay),
        model=args.model,
        host=args.host,
        port=args.port,
    ) as server:
        print(server.base_url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
