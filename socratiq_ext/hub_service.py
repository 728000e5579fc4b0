"""The class's LLM behind the class's JupyterHub: a hub-managed service that holds the key, so students never do.

Why: on a class hub the instructor pays for one LLM endpoint (URL, model, API key). Handing that key to every
student's server would put it in their notebooks, homes and process environments, where any of them can copy it.
Instead this service runs beside the hub, started by it and seen only by it, and is the students' OpenAI-compatible
endpoint: each student's tutor sends its requests here with the student's *own* JupyterHub API token as the API key;
the service asks the hub whose token it is (``HubAuth.user_for_token``, cached for ``HubAuth.cache_max_age``), checks
that the token may use this service (the scope ``access:services!service=socratiq-llm``), and forwards the request to
the real endpoint with the instructor's key in place of the student's token. Replies stream back chunk by chunk
(server-sent events arrive as the LLM writes them), with the upstream's status and content type. A student whose
token or account is removed loses the LLM with it (within HubAuth's five-minute cache). The key is never sent to a
student and never logged: a reply body, passed-on header or event line from the upstream that holds the key has it
replaced by ``[redacted]`` (an upstream's error messages may quote it; the model itself never sees it).

Endpoints, under the service's prefix (``/services/socratiq-llm/``): ``v1/chat/completions`` (POST, streamed or
not), ``v1/completions`` and ``v1/embeddings`` (POST) and ``v1/models[/<id>]`` (GET), forwarded to
``$SOCRATIQ_UPSTREAM_URL/<the rest>``. Other paths get 404: the key must not buy files, batches or fine-tuning.
Failures answer in OpenAI's error shape ``{"error": {"message", "type", "param", "code"}}`` with one line:
401 no or unknown hub token, 403 a token without the scope, 429 past the per-user rate limit, 502 the upstream cannot
be reached (or refused the instructor's key), 504 it did not answer in time, 503 the service is not configured;
the upstream's own errors (400, 404, 429, 5xx) pass through with their status.

The service's environment, which only the hub process sees (set in the service's ``environment``):

- ``SOCRATIQ_UPSTREAM_URL``: the OpenAI-compatible base URL, e.g. ``https://api.openai.com/v1``.
- ``SOCRATIQ_UPSTREAM_KEY_FILE``: a file holding the key (e.g. root-owned, mode 600; whitespace stripped), or else
  ``SOCRATIQ_UPSTREAM_KEY``; neither for a server that needs no key (Ollama, vLLM).
- ``SOCRATIQ_UPSTREAM_MODEL`` (optional): the class's model; every request's ``model`` is set to it, so a student
  cannot pick a dearer one.
- ``SOCRATIQ_UPSTREAM_TIMEOUT`` (optional, seconds, default 60): the longest wait for the upstream to connect,
  to start answering and between streamed chunks; a whole reply may take ten times that.
- ``SOCRATIQ_RATE_LIMIT`` (optional): requests per minute per hub user (a token bucket; unset or 0: no limit).
- From JupyterHub: ``JUPYTERHUB_SERVICE_URL`` (where to listen), ``JUPYTERHUB_SERVICE_PREFIX``,
  ``JUPYTERHUB_SERVICE_NAME``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN`` and
  ``JUPYTERHUB_OAUTH_ACCESS_SCOPES`` (the scopes that admit a token; the hub sets them for the service).

A misconfigured service (no URL, an unreadable key file) still starts, logs why once and answers every request
with 503 and that reason, so that students read one line instead of the hub restarting it in a loop.

Wiring, in ``jupyterhub_config.py`` (:func:`configure_hub` does all of it)::

    from socratiq_ext.hub_service import configure_hub
    configure_hub(c, upstream_url="https://api.openai.com/v1", key_file="/etc/jupyterhub/socratiq.key",
                  model="gpt-4o-mini", port=10101)

which amounts to::

    c.JupyterHub.services.append({"name": "socratiq-llm", "url": "http://127.0.0.1:10101", "display": False,
        "command": [sys.executable, "-m", "socratiq_ext.hub_service"],
        "environment": {"SOCRATIQ_UPSTREAM_URL": ..., "SOCRATIQ_UPSTREAM_KEY_FILE": ..., ...}})
    c.JupyterHub.extra_user_scopes = {"access:services!service=socratiq-llm"}  # every user may use it
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",   # the default server role
                                     "access:services!service=socratiq-llm"]           # ... and this service
    c.Spawner.environment.update({
        "SOCRATIQ_BASE_URL": "http://127.0.0.1:10101/services/socratiq-llm/v1",
        "SOCRATIQ_API_KEY": lambda spawner: spawner.api_token,  # the student's own hub token
        "SOCRATIQ_MODEL": "gpt-4o-mini"})

A single-user server's token with the default scopes (the ``server`` role: ``users:activity!user``,
``access:servers!server``) identifies its user but is refused here (403): the two scope lines above are needed, and
servers started before them must be restarted to get a token with the new scope. Tokens a student makes on the hub's
token page (all their permissions) work too. No OAuth is involved (requests carry a token, no browser signs in), so
``oauth_no_confirm`` is irrelevant; ``display: False`` keeps this API out of the hub's Services menu. The service
listens on 127.0.0.1: single-user servers on the same machine reach it directly; servers elsewhere (containers)
use the hub's public URL, ``<hub>/services/socratiq-llm/v1``, through the proxy. The service runs as the hub's user
(root, in deploy/), so the key file and the service's environment stay out of students' reach as long as their
servers run as other Unix users (LocalProcessSpawner, SystemdSpawner, containers), not as the hub's own user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import HTTPTimeoutError

SERVICE_NAME = "socratiq-llm"
DEFAULT_PORT = 10101
DEFAULT_TIMEOUT_S = 60.0
# A whole reply may take this many times the timeout (which bounds each wait, not the sum).
REPLY_LIMIT_FACTOR = 10
# The scopes of JupyterHub's default ``server`` role, which single-user servers' tokens get unless configured.
DEFAULT_SERVER_TOKEN_SCOPES = ("users:activity!user", "access:servers!server")
# What the service forwards: (method, path under v1/); "*" stands for one path segment. Anything else is 404.
ALLOWED = frozenset(
    {
        ("POST", "chat/completions"),
        ("POST", "completions"),
        ("POST", "embeddings"),
        ("GET", "models"),
        ("GET", "models/*"),
    }
)
# Connections to the upstream at once (tornado's default of 10 would queue a class's streams).
MAX_UPSTREAM_CONNECTIONS = 512
MAX_REQUEST_BODY = 16 * 1024 * 1024
MAX_REPLY_BODY = 32 * 1024 * 1024  # a non-streamed reply is held whole, to redact it
REDACTED = b"[redacted]"
# On the service's own error answers (one line, safe to show as it is), not on an upstream's errors passed on.
SERVICE_HEADER = "X-SocratiQ-Service"
# Response headers passed back from the upstream (others, such as cookies or the organisation, are not).
_PASS_HEADERS = frozenset({"content-type", "cache-control", "retry-after", "retry-after-ms", "x-request-id"})
_PASS_PREFIXES = ("x-ratelimit-", "openai-model", "openai-processing-ms", "openai-version")
_TOKEN = re.compile(r"\s*(?:bearer|token)\s+(\S+)\s*$", re.IGNORECASE)

log = logging.getLogger("socratiq.hub_service")


def access_scope(name: str = SERVICE_NAME) -> str:
    """The scope a hub token needs to use the service called ``name``."""
    return f"access:services!service={name}"


ACCESS_SCOPE = access_scope()
# ``c.Spawner.server_token_scopes`` for servers whose token may use the service: the default plus its scope.
SERVER_TOKEN_SCOPES = [*DEFAULT_SERVER_TOKEN_SCOPES, ACCESS_SCOPE]
SERVICE_COMMAND = [sys.executable, "-m", "socratiq_ext.hub_service"]


def base_url(port: int = DEFAULT_PORT, name: str = SERVICE_NAME, host: str = "127.0.0.1") -> str:
    """The service's OpenAI base URL as a server on the hub's machine reaches it: ``SOCRATIQ_BASE_URL``."""
    return f"http://{host}:{port}/services/{name}/v1"


def student_token(spawner) -> str:
    """``SOCRATIQ_API_KEY`` for a single-user server: its own hub API token (the same as JUPYTERHUB_API_TOKEN)."""
    return spawner.api_token


def service_spec(
    *,
    upstream_url: str,
    key_file: str | os.PathLike | None = None,
    model: str | None = None,
    port: int = DEFAULT_PORT,
    timeout: float | None = None,
    rate_limit: int | None = None,
    name: str = SERVICE_NAME,
    python: str | os.PathLike | None = None,
) -> dict:
    """The entry for ``c.JupyterHub.services``. The key goes in a file (``key_file``), not in the hub's config.
    ``python``: the interpreter that runs the service (default: the hub's own)."""
    environment = {"SOCRATIQ_UPSTREAM_URL": upstream_url}
    if key_file is not None:
        environment["SOCRATIQ_UPSTREAM_KEY_FILE"] = str(key_file)
    if model:
        environment["SOCRATIQ_UPSTREAM_MODEL"] = model
    if timeout is not None:
        environment["SOCRATIQ_UPSTREAM_TIMEOUT"] = f"{timeout:g}"
    if rate_limit:
        environment["SOCRATIQ_RATE_LIMIT"] = str(int(rate_limit))
    return {
        "name": name,
        "url": f"http://127.0.0.1:{port}",
        "command": [str(python), *SERVICE_COMMAND[1:]] if python else list(SERVICE_COMMAND),
        "environment": environment,
        "display": False,  # an API, not a page: keep it out of the hub's Services menu
    }


def spawner_environment(port: int = DEFAULT_PORT, model: str | None = None, name: str = SERVICE_NAME) -> dict:
    """What ``c.Spawner.environment`` needs so that each student's tutor uses the service with its own token."""
    env = {"SOCRATIQ_BASE_URL": base_url(port, name), "SOCRATIQ_API_KEY": student_token}
    if model:
        env["SOCRATIQ_MODEL"] = model
    return env


def configure_hub(
    c, *, port: int = DEFAULT_PORT, model: str | None = None, name: str = SERVICE_NAME, **service
) -> None:
    """Wire the service into a hub's config ``c``: the managed service, every user's permission to use it, the
    scope on single-user servers' tokens and the tutor's environment. Merges with settings already made.
    ``service``: the rest of :func:`service_spec`'s settings (``upstream_url``, ``key_file``, ``timeout``, ...)."""
    spec = service_spec(port=port, model=model, name=name, **service)
    hub, spawner, scope = c.JupyterHub, c.Spawner, access_scope(name)
    hub.services = [s for s in _configured(hub, "services", []) if s.get("name") != name] + [spec]
    roles = _configured(hub, "load_roles", [])
    user_role = next((r for r in roles if r.get("name") == "user" and "scopes" in r), None)
    if user_role is not None:  # a redefined user role makes JupyterHub ignore extra_user_scopes
        user_role["scopes"] = sorted({*user_role["scopes"], scope})
        hub.load_roles = roles
    else:
        hub.extra_user_scopes = {*_configured(hub, "extra_user_scopes", set()), scope}
    scopes = _configured(spawner, "server_token_scopes", None) or list(DEFAULT_SERVER_TOKEN_SCOPES)
    if callable(scopes):
        raise ValueError(f"c.Spawner.server_token_scopes is a function: make it return {scope!r} too")
    spawner.server_token_scopes = [*scopes, *([] if scope in scopes else [scope])]
    spawner.environment = {**_configured(spawner, "environment", {}), **spawner_environment(port, model, name)}


def _configured(section, key: str, default):
    """A setting already in a traitlets config section (a plain copy), or ``default``."""
    if key not in section:
        return default
    value = section[key]
    if hasattr(value, "get_value"):  # a LazyConfigValue, from e.g. c.JupyterHub.services.append(...)
        value = value.get_value(type(default)() if default is not None else [])
    return type(value)(value) if isinstance(value, (list, set, dict)) else value


# -- settings ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the service was told. ``problem`` (None when fine) is the one line every request gets when unusable."""

    upstream_url: str = field(repr=False)
    api_key: str = field(repr=False)
    model: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    rate_limit: int = 0
    listen_host: str = "127.0.0.1"
    listen_port: int = DEFAULT_PORT
    prefix: str = f"/services/{SERVICE_NAME}/"
    service_name: str = SERVICE_NAME
    problem: str | None = None
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        """The upstream as safe to log: no credentials, query or fragment."""
        return shown_url(self.upstream_url)


def shown_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL, without a user, password, query or fragment (any may hold a key)."""
    parts = urlsplit(url.strip())
    if not parts.scheme:
        return ""
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Read the service's environment. Never raises: a setting that cannot be used becomes ``problem``."""
    problems: list[str] = []
    warnings: list[str] = []
    name = env.get("JUPYTERHUB_SERVICE_NAME") or SERVICE_NAME
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{name}/"
    prefix = "/" + prefix.strip("/") + "/"
    listen = urlsplit(env.get("JUPYTERHUB_SERVICE_URL") or f"http://127.0.0.1:{DEFAULT_PORT}")
    try:
        listen_port = listen.port or DEFAULT_PORT
    except ValueError:
        listen_port = DEFAULT_PORT
        problems.append("JUPYTERHUB_SERVICE_URL has a port that is not a number")
    listen_host = listen.hostname or "127.0.0.1"

    url = (env.get("SOCRATIQ_UPSTREAM_URL") or "").strip()
    parts = urlsplit(url)
    if not url:
        problems.append("SOCRATIQ_UPSTREAM_URL is not set")
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(f"SOCRATIQ_UPSTREAM_URL ({shown_url(url)}) is not an http(s) URL")
    elif parts.username or parts.password:
        problems.append("SOCRATIQ_UPSTREAM_URL holds a user or password: put the key in SOCRATIQ_UPSTREAM_KEY_FILE")

    key = ""
    key_file = env.get("SOCRATIQ_UPSTREAM_KEY_FILE")
    if key_file:
        path = Path(key_file)
        try:
            key = path.read_text(encoding="utf-8").strip()
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                warnings.append(f"the key file {path} can be read by others than its owner: chmod 600 it")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"the key file SOCRATIQ_UPSTREAM_KEY_FILE cannot be read ({type(error).__name__})")
        else:
            if not key:
                problems.append(f"the key file {path} is empty")
    else:
        key = (env.get("SOCRATIQ_UPSTREAM_KEY") or "").strip()
    if key and any(ch.isspace() or not ch.isprintable() for ch in key):
        problems.append("the upstream key holds spaces or control characters")
        key = ""

    timeout = DEFAULT_TIMEOUT_S
    raw = env.get("SOCRATIQ_UPSTREAM_TIMEOUT")
    if raw:
        try:
            timeout = float(raw)
            if not math.isfinite(timeout) or timeout <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"SOCRATIQ_UPSTREAM_TIMEOUT={raw!r} is not a positive number of seconds")
            timeout = DEFAULT_TIMEOUT_S

    rate_limit = 0
    raw = env.get("SOCRATIQ_RATE_LIMIT")
    if raw:
        try:
            rate_limit = int(raw)
            if rate_limit < 0:
                raise ValueError
        except ValueError:
            problems.append(f"SOCRATIQ_RATE_LIMIT={raw!r} is not a whole number of requests per minute")
            rate_limit = 0

    return Settings(
        upstream_url=url.rstrip("/"),
        api_key=key,
        model=(env.get("SOCRATIQ_UPSTREAM_MODEL") or "").strip() or None,
        timeout=timeout,
        rate_limit=rate_limit,
        listen_host=listen_host,
        listen_port=listen_port,
        prefix=prefix,
        service_name=name,
        problem="; ".join(problems) or None,
        warnings=tuple(warnings),
    )


# -- per-user rate limit -------------------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per user: ``per_minute`` requests at once, refilled at ``per_minute`` a minute."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str) -> float:
        """0 when ``who`` may make a request now (and counts it), else the seconds until they may."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        tokens, then = self._buckets.get(who, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[who] = (tokens - 1, now)
            return 0.0
        self._buckets[who] = (tokens, now)
        return (1 - tokens) / self.rate


# -- redaction -----------------------------------------------------------------------------------------------------


class Redactor:
    """Replaces the key in a streamed body. Text is released a whole line at a time (the key holds no newline, so a
    line is judged whole), which keeps server-sent events flowing as they arrive; a very long line without a newline
    is released but for the last ``len(key) - 1`` bytes, where the key could still begin."""

    def __init__(self, secret: str, hold_limit: int = 64 * 1024):
        self.secret = secret.encode()
        self.hold_limit = hold_limit
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        if not self.secret:
            return data
        text = (self._pending + data).replace(self.secret, REDACTED)
        cut = text.rfind(b"\n") + 1
        if len(text) - cut > self.hold_limit:
            cut = len(text) - (len(self.secret) - 1)
        self._pending = text[cut:]
        return text[:cut]

    def finish(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest.replace(self.secret, REDACTED) if self.secret else rest


def error_body(message: str, kind: str, code: str | None = None) -> bytes:
    """OpenAI's error shape."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


class _Refusal(Exception):
    """An answer in OpenAI's error shape, ending the request."""

    def __init__(self, status: int, message: str, kind: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code
        self.headers = headers or {}


class _Abandoned(httputil.HTTPInputError):
    """Raised into the upstream request to drop it (the student left, the upstream went silent, the reply is too
    large). An HTTPInputError, which tornado's client answers by closing the connection without logging an error."""


# -- the service ---------------------------------------------------------------------------------------------------


class LLMService:
    """What every request shares: settings, the hub's answers about tokens, the rate limit, the upstream client."""

    def __init__(self, settings: Settings, hub_auth=None):
        if hub_auth is None:
            from jupyterhub.services.auth import HubAuth

            hub_auth = HubAuth()
        if not hub_auth.access_scopes:  # run outside the hub: admit tokens with this service's scope
            hub_auth.access_scopes = {access_scope(settings.service_name)}
        self.settings = settings
        self.hub_auth = hub_auth
        self.limiter = RateLimiter(settings.rate_limit)
        self.client = AsyncHTTPClient(force_instance=True, max_clients=MAX_UPSTREAM_CONNECTIONS)

    def app(self) -> web.Application:
        prefix = re.escape(self.settings.prefix)
        return web.Application(
            [(rf"{prefix}v1/(.*)", ProxyHandler, {"service": self})],
            default_handler_class=NotFoundHandler,
            default_handler_args={"service": self},
            log_function=_log_request,
        )

    async def identify(self, token: str) -> dict | None:
        """The hub's model of the token's owner (None: unknown token), as HubAuth caches it."""
        try:
            return await self.hub_auth.user_for_token(token, sync=False)
        except Exception as error:  # noqa: BLE001 - the hub down is one line for the student, logged here
            log.error("cannot check a token with the hub: %s", error)
            raise _Refusal(
                503,
                "the class hub did not answer when SocratiQ's service checked your token: try again in a minute",
                "server_error",
                "hub_unavailable",
            ) from None

    def may_use(self, model: dict) -> bool:
        return bool(self.hub_auth.check_scopes(self.hub_auth.access_scopes, model))


def _log_request(handler: web.RequestHandler) -> None:
    """One line per request: who, what, status, time. Never a query string, token or key."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.WARNING
    who = getattr(handler, "who", None) or "-"
    ms = 1000 * handler.request.request_time()
    log.log(level, "%s %s %s %d %.0fms", who, handler.request.method, handler.request.path, status, ms)


class _JSONErrors(web.RequestHandler):
    """Every error in OpenAI's shape; no Etag, no Server header."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def compute_etag(self) -> None:
        return None

    def send_refusal(self, refusal: _Refusal) -> None:
        self.clear()
        self.set_status(refusal.status)
        self.set_header("Content-Type", "application/json")
        self.set_header(SERVICE_HEADER, SERVICE_NAME)
        for name, value in refusal.headers.items():
            self.set_header(name, value)
        self.finish(error_body(refusal.message, refusal.kind, refusal.code))

    def write_error(self, status_code: int, **kwargs) -> None:
        if status_code == 405:
            message = f"the class's LLM service does not accept {self.request.method} here"
        elif status_code < 500:
            message = f"the class's LLM service could not read this request (HTTP {status_code})"
        else:
            message = "the class's LLM service failed on this request: try again, and tell your instructor if it lasts"
        kind = "invalid_request_error" if status_code < 500 else "server_error"
        self.set_header("Content-Type", "application/json")
        self.set_header(SERVICE_HEADER, SERVICE_NAME)
        self.finish(error_body(message, kind))


class NotFoundHandler(_JSONErrors):
    def initialize(self, service: LLMService) -> None:
        self.prefix = service.settings.prefix

    def prepare(self) -> None:
        message = f"nothing here: the class's LLM is at {self.prefix}v1"
        self.send_refusal(_Refusal(404, message, "invalid_request_error", "not_found"))


class ProxyHandler(_JSONErrors):
    """Checks the caller's hub token, then forwards to the upstream with the instructor's key."""

    SUPPORTED_METHODS = ("GET", "POST")

    def initialize(self, service: LLMService) -> None:
        self.service = service
        self.conf = service.settings
        self.who: str | None = None
        self._gone = asyncio.Event()
        self._streaming = False  # response headers sent, body streaming
        self._last = 0.0

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self, path: str) -> None:
        await self._serve(path)

    async def post(self, path: str) -> None:
        await self._serve(path)

    async def _serve(self, path: str) -> None:
        try:
            if self.conf.problem:
                raise _Refusal(
                    503,
                    f"the class's LLM is not set up ({self.conf.problem}): tell your instructor",
                    "server_error",
                    "not_configured",
                )
            await self._authorise()
            self._check_path(path)
            self._check_rate()
            await self._forward(path)
        except _Refusal as refusal:
            if not self._finished:
                self.send_refusal(refusal)

    # -- who is asking ---------------------------------------------------------------------------------------------
    async def _authorise(self) -> None:
        match = _TOKEN.match(self.request.headers.get("Authorization", ""))
        if not match:
            raise _Refusal(
                401,
                "sign in to the class hub and run the lab there: the class's LLM needs your hub API token as the"
                " API key (SOCRATIQ_API_KEY), and this request had none",
                "invalid_request_error",
                "invalid_api_key",
            )
        model = await self.service.identify(match.group(1))
        if not model:
            raise _Refusal(
                401,
                "sign in to the class hub and run the lab there: the class hub does not know this API key"
                " (SOCRATIQ_API_KEY must be your hub API token; an old one may have expired)",
                "invalid_request_error",
                "invalid_api_key",
            )
        self.who = f"{model.get('kind', 'user')}:{model.get('name', '?')}"
        if not self.service.may_use(model):
            raise _Refusal(
                403,
                f"your hub token may not use the class's LLM (it lacks {access_scope(self.conf.service_name)}):"
                " ask your instructor",
                "permission_error",
                "forbidden",
            )

    def _check_path(self, path: str) -> None:
        segments = path.strip("/").split("/")
        if any(unquote(s) in ("", ".", "..") for s in segments):
            raise _Refusal(404, f"no such endpoint: v1/{path}", "invalid_request_error", "not_found")
        method = self.request.method
        shape = "/".join(segments)
        wild = "/".join([*segments[:-1], "*"])
        if (method, shape) not in ALLOWED and (method, wild) not in ALLOWED:
            offered = ", ".join(sorted({f"{m} v1/{p}" for m, p in ALLOWED}))
            raise _Refusal(
                404,
                f"the class's LLM service does not offer {method} v1/{shape} (it offers {offered})",
                "invalid_request_error",
                "not_found",
            )

    def _check_rate(self) -> None:
        wait = self.service.limiter.take(self.who or "")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise _Refusal(
                429,
                f"you have sent the class's LLM {self.conf.rate_limit} requests within a minute, the class's"
                f" limit: wait {seconds} s and try again",
                "requests",
                "rate_limit_exceeded",
                {"Retry-After": str(seconds), "retry-after-ms": str(int(wait * 1000) + 1)},
            )

    # -- forwarding ------------------------------------------------------------------------------------------------
    def _upstream_request(self, path: str) -> HTTPRequest:
        s = self.conf
        url = f"{s.upstream_url}/{path.strip('/')}"
        if self.request.query:
            url += "?" + self.request.query
        headers = {"Accept": self.request.headers.get("Accept", "application/json")}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        body = None
        if self.request.method == "POST":
            headers["Content-Type"] = self.request.headers.get("Content-Type", "application/json")
            body, self._wants_stream = _prepare_body(self.request.body, s.model)
        return HTTPRequest(
            url,
            method=self.request.method,
            headers=headers,
            body=body,
            connect_timeout=s.timeout,
            request_timeout=s.timeout * REPLY_LIMIT_FACTOR,
            follow_redirects=False,
            decompress_response=True,
            header_callback=self._on_header_line,
            streaming_callback=self._on_chunk,
        )

    async def _forward(self, path: str) -> None:
        s = self.conf
        self._up_status: httputil.ResponseStartLine | None = None
        self._up_headers = httputil.HTTPHeaders()
        self._up_body = bytearray()
        self._redactor = Redactor(s.api_key)
        self._last = time.monotonic()
        fetch = asyncio.ensure_future(self.service.client.fetch(self._upstream_request(path), raise_error=False))
        gone = asyncio.ensure_future(self._gone.wait())
        try:
            while not fetch.done():
                idle_left = self._last + s.timeout - time.monotonic()
                if idle_left <= 0 or self._gone.is_set():
                    break
                await asyncio.wait({fetch, gone}, timeout=idle_left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not fetch.done():  # the student left, or the upstream went silent: drop it at its next byte
            self._abandoned = True
            fetch.add_done_callback(_consume)
            self._upstream_failed(None, timed_out=True)
            return
        try:
            fetch.result()
        except Exception as error:  # noqa: BLE001 - every upstream failure is one line, and logged
            self._upstream_failed(error, timed_out=isinstance(error, HTTPTimeoutError))
            return
        if self._streaming:
            self.write(self._redactor.finish())
            self.finish()
        else:
            self._answer_whole()

    _abandoned = False
    _too_large = False
    _wants_stream = False

    def _dropped(self) -> bool:
        """Whether the upstream's answer is no longer wanted: the reply was given up on, or the student left."""
        return self._abandoned or self._finished or self._client_gone()

    def _client_gone(self) -> bool:
        stream = getattr(self.request.connection, "stream", None)
        return self._gone.is_set() or (stream is not None and stream.closed())

    def _on_header_line(self, line: str) -> None:
        if self._dropped():
            raise _Abandoned()
        self._last = time.monotonic()
        if self._up_status is None:
            self._up_status = httputil.parse_response_start_line(line.strip())
        elif line.strip():
            self._up_headers.parse_line(line)
        else:
            self._start_streaming_if_events()

    def _start_streaming_if_events(self) -> None:
        status = self._up_status.code if self._up_status else 0
        kind = self._up_headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not (200 <= status < 300 and (kind == "text/event-stream" or self._wants_stream)):
            return  # held whole, to be checked and redacted at once
        self.set_status(status)
        self._copy_headers()
        self.set_header("X-Accel-Buffering", "no")  # a reverse proxy in front of the hub must not hold events
        self._streaming = True
        self.flush().add_done_callback(_consume)

    def _on_chunk(self, chunk: bytes):
        if self._dropped():
            raise _Abandoned()
        self._last = time.monotonic()
        if self._streaming:
            data = self._redactor.feed(chunk)
            if data:
                self.write(data)
                return self._flush()  # awaited by the upstream connection: a slow student slows the upstream
            return None
        self._up_body += chunk
        if len(self._up_body) > MAX_REPLY_BODY:
            self._too_large = True
            raise _Abandoned()
        return None

    async def _flush(self) -> None:
        try:
            await self.flush()
        except StreamClosedError:  # the student left: drop the upstream request too
            raise _Abandoned() from None

    def _copy_headers(self) -> None:
        for name, value in self._up_headers.get_all():
            low = name.lower()
            if low in _PASS_HEADERS or low.startswith(_PASS_PREFIXES):
                key = self.conf.api_key
                self.set_header(name, value.replace(key, REDACTED.decode()) if key else value)

    def _answer_whole(self) -> None:
        status = self._up_status.code if self._up_status else 502
        body = bytes(self._up_body)
        if self.conf.api_key:
            body = body.replace(self.conf.api_key.encode(), REDACTED)
        if status in (401, 403):
            log.error(
                "the upstream %s refused the class's key (HTTP %d): check SOCRATIQ_UPSTREAM_KEY_FILE",
                self.conf.describe(),
                status,
            )
            raise _Refusal(
                502,
                f"the class's LLM refused the class's API key (HTTP {status}): tell your instructor",
                "server_error",
                "upstream_refused_key",
            )
        if status >= 400:
            try:
                json.loads(body)
            except ValueError:
                log.warning("the upstream answered HTTP %d with a body that is not JSON", status)
                raise _Refusal(
                    status, f"the class's LLM answered HTTP {status}", "server_error", "upstream_error"
                ) from None
        self.set_status(status, self._up_status.reason if self._up_status else None)
        self._copy_headers()
        self.finish(body)

    def _upstream_failed(self, error: Exception | None, *, timed_out: bool) -> None:
        s = self.conf
        if isinstance(error, _Refusal):
            raise error
        if self._client_gone():
            log.info("%s left before the reply ended: the upstream request is dropped", self.who)
            return
        reason = "no answer in time" if timed_out else "the reply was too large" if self._too_large else _reason(error)
        if s.api_key:
            reason = reason.replace(s.api_key, REDACTED.decode())
        log.warning("the upstream %s failed: %s", s.describe(), reason)
        if self._streaming:  # headers and part of the reply are out: cut the connection, so the client sees a cut
            self.request.connection.close()
            return
        if timed_out:
            raise _Refusal(
                504,
                f"the class's LLM did not answer within {s.timeout:g} s: try again in a minute, and tell your"
                " instructor if it lasts",
                "server_error",
                "upstream_timeout",
            )
        raise _Refusal(
            502,
            f"the class's LLM is not answering ({reason}): try again in a minute, and tell your instructor if it lasts",
            "server_error",
            "upstream_unreachable",
        )


def _reason(error: Exception | None) -> str:
    """A few words on why the upstream could not be used."""
    if error is None:
        return "no answer"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    text = str(error).strip()
    return text.splitlines()[0][:120] if text else type(error).__name__


def _consume(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _prepare_body(body: bytes, model: str | None) -> tuple[bytes, bool]:
    """The request body to forward (with the class's model, if one is set) and whether it asks for a stream.
    A body that is not a JSON object goes as it came, for the upstream to refuse."""
    try:
        data = json.loads(body)
    except ValueError:
        return body, False
    if not isinstance(data, dict):
        return body, False
    if model:
        data["model"] = model
        body = json.dumps(data).encode()
    return body, data.get("stream") is True


# -- running -------------------------------------------------------------------------------------------------------


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Listen at the service's URL until ``stop`` is set (or SIGTERM/SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    service = LLMService(settings)
    server = service.app().listen(
        settings.listen_port, address=settings.listen_host, max_body_size=MAX_REQUEST_BODY, xheaders=False
    )
    log.info(
        "serving %s on %s:%d for %s%s (timeout %g s, %s)",
        settings.prefix + "v1",
        settings.listen_host,
        settings.listen_port,
        settings.describe() or "(no upstream)",
        f", model {settings.model}" if settings.model else "",
        settings.timeout,
        f"{settings.rate_limit} requests a minute per user" if settings.rate_limit else "no rate limit",
    )
    try:
        await stop.wait()
    finally:
        server.stop()
        service.client.close()


def main() -> int:
    # The service's own lines at INFO; other libraries' (HubAuth's, tornado's) from WARNING up.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"[{SERVICE_NAME} %(asctime)s %(levelname)s] %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    log.setLevel(logging.INFO)
    settings = load_settings()
    for warning in settings.warnings:
        log.warning("%s", warning)
    if settings.problem:
        log.error("not set up, every request will be answered 503: %s", settings.problem)
    if not settings.api_key and not settings.problem:
        log.info("no upstream key (SOCRATIQ_UPSTREAM_KEY_FILE): requests go without Authorization")
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
