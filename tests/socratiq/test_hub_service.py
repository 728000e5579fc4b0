"""The class's LLM behind a real JupyterHub: socratiq_ext.hub_service as the hub's managed service.

One real hub for the module (jupyterhub 6 with configurable-http-proxy and the dummy authenticator), configured by
``hub_service.configure_hub`` as an instructor would, with the project's real OpenAI-compatible test server
(tests/support/llm_server.py) as the class's upstream, which requires the instructor's key. Users and their tokens
come from the hub's REST API, and one student's server is spawned by the hub (a stand-in for JupyterLab that records
its environment); the student side is the real ``openai`` client and the real tutor. Every process started here
(hub, proxy, service, server) is stopped by process group at the end, also on failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai
import pytest
import requests
from llm_server import ChatServer, Fail, Hangup, Reply, Stall
from traitlets.config import Config

from socratiq_ext import Tutor
from socratiq_ext import hub_service as hs

ROOT = Path(__file__).resolve().parents[2]
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"
PROXY = ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"
KEY = "sk-class-key-4f1c9e0b7a2d-NEVER-SHOWN"
ADMIN_TOKEN = secrets.token_hex(24)
MODEL = "class-model"
UPSTREAM_TIMEOUT_S = 2.0
RATE_LIMIT = 20  # requests a minute per user; tests share users sparingly so that only the rate test meets it
QUESTION = "why cache before augment?"
STARTUP_S = 90.0

CONFIG = """
import sys
from socratiq_ext.hub_service import configure_hub

c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.services = [{{"name": "test-admin", "api_token": {admin!r}}}]
c.JupyterHub.load_roles = [
    {{"name": "test-admin", "scopes": ["admin:users", "servers", "tokens", "read:services"], "services": ["test-admin"]}}
]
# A student's server is a stand-in (SPAWNED below) that records the environment JupyterHub gives it: the real
# spawner machinery and token, without starting JupyterLab.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
c.Spawner.cmd = [sys.executable, {spawned!r}]
c.Spawner.start_timeout = c.Spawner.http_timeout = 30
configure_hub(
    c, upstream_url={upstream!r}, key_file={key_file!r}, model={model!r}, port={service},
    timeout={timeout!r}, rate_limit={rate}
)
"""


# Stands in for jupyterhub-singleuser: writes its environment where the test reads it, and answers HTTP.
SPAWNED = """
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

out = os.path.join(os.getcwd(), "environment.json")  # the spawner starts it in the user's home
with open(out + ".part", "w") as f:
    json.dump({"environ": dict(os.environ)}, f)
os.replace(out + ".part", out)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"]).port), Handler).serve_forever()
"""

# -- the upstream, the hub and its users ----------------------------------------------------------------------------


class Upstream:
    """The class's LLM: a ChatServer that needs the instructor's key, which can go down and come back on its port."""

    def __init__(self) -> None:
        self.server = ChatServer(api_key=KEY).start()
        self.base_url = self.server.base_url
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def script(self, *behaviours) -> None:
        self.server.script(*behaviours)

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def stop(self) -> None:
        self.server.close()

    def restart(self) -> None:
        self.server.close()
        self.server = ChatServer(api_key=KEY, port=self.port).start()


class Hub:
    """A running jupyterhub and what the tests need of it."""

    def __init__(self, tmp: Path, upstream: Upstream) -> None:
        self.tmp = tmp
        self.public, self.hub_port, proxy_api, self.service_port = _free_ports(4)
        key_file = tmp / "upstream.key"
        key_file.write_text(f"  {KEY}\n")  # stripped by the service
        key_file.chmod(0o600)
        self.proxy_pid_file = tmp / "proxy.pid"
        self.spawned = spawned = tmp / "spawned_server.py"
        spawned.write_text(SPAWNED)
        config = tmp / "jupyterhub_config.py"
        config.write_text(
            CONFIG.format(
                public=self.public,
                hub=self.hub_port,
                proxy_api=proxy_api,
                proxy=str(PROXY),
                proxy_pid=str(self.proxy_pid_file),
                tmp=tmp,
                cookie=str(tmp / "cookie_secret"),
                admin=ADMIN_TOKEN,
                upstream=upstream.base_url,
                key_file=str(key_file),
                model=MODEL,
                service=self.service_port,
                timeout=UPSTREAM_TIMEOUT_S,
                rate=RATE_LIMIT,
                home=str(tmp / "home" / "{username}"),
                spawned=str(spawned),
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCRATIQ_", "JUPYTERHUB_", "CONFIGPROXY_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path = tmp / "hub.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(JUPYTERHUB), "-f", str(config)],
            cwd=tmp,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to stop whatever it leaves
        )
        self.api = f"http://127.0.0.1:{self.hub_port}/hub/api"
        self.direct = hs.base_url(self.service_port)
        self.proxied = f"http://127.0.0.1:{self.public}/services/{hs.SERVICE_NAME}/v1"
        self.service_pid: int | None = None
        self.tokens: dict[str, str] = {}

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        self._wait(lambda: requests.get(f"{self.api}/", timeout=2).status_code == 200, deadline, "the hub's API")
        for url in (self.direct, self.proxied):  # the service itself, then its route through the proxy
            self._wait(lambda u=url: requests.get(f"{u}/models", timeout=2).status_code == 401, deadline, url)
        self.service_pid = self.admin("GET", f"services/{hs.SERVICE_NAME}").json()["pid"]

    def _wait(self, ready, deadline: float, what: str) -> None:
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"jupyterhub exited ({self.proc.returncode}) before {what} answered:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not answer within {STARTUP_S:g} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the hub (it stops its proxy, service and servers), then kill whatever is left of them."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid)
                self.proc.wait(timeout=5)
        _kill_group(self.proc.pid)  # anything left in the hub's group
        leftovers = [(self.service_pid, "socratiq_ext.hub_service")]
        leftovers += [(_read_pid(self.proxy_pid_file), "configurable-http-proxy")]
        leftovers += [(pid, str(self.spawned)) for pid in _pids_running(str(self.spawned))]  # this hub's servers
        for pid, marker in leftovers:
            if pid and marker in _cmdline(pid):  # the service, proxy and servers run in process groups of their own
                _kill_group(pid)
        self._log.close()

    # -- the hub's REST API -------------------------------------------------------------------------------------
    def admin(self, method: str, path: str, **json_body) -> requests.Response:
        response = requests.request(
            method,
            f"{self.api}/{path}",
            headers={"Authorization": f"token {ADMIN_TOKEN}"},
            json=json_body or None,
            timeout=10,
        )
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def spawn(self, name: str) -> dict[str, str]:
        """Start ``name``'s server through the hub's API; the environment the hub gave it."""
        self.admin("POST", f"users/{name}")
        self.admin("POST", f"users/{name}/server")
        record = self.tmp / "home" / name / "environment.json"
        deadline = time.monotonic() + 30
        while not (record.exists() and self.admin("GET", f"users/{name}").json()["servers"].get("", {}).get("ready")):
            assert time.monotonic() < deadline, f"{name}'s server did not start:\n{self.log_tail()}"
            time.sleep(0.1)
        return json.loads(record.read_text())["environ"]

    def user_token(self, name: str, scopes: list[str] | None = None) -> str:
        """A new token for user ``name`` (created if need be); ``scopes`` None: all the user's permissions."""
        if requests.get(f"{self.api}/users/{name}", headers=_auth(ADMIN_TOKEN), timeout=10).status_code == 404:
            self.admin("POST", f"users/{name}")
        body = {"note": "test"} if scopes is None else {"note": "test", "scopes": scopes}
        return self.admin("POST", f"users/{name}/tokens", **body).json()["token"]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids_running(marker: str) -> list[int]:
    """The processes whose command line holds ``marker`` (a path unique to this module's hub)."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and marker in _cmdline(int(p.name))]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_token_scopes(scopes: list[str], user: str, server: str = "") -> list[str]:
    """The scopes as JupyterHub gives them to ``user``'s server token (it resolves ``!server`` itself)."""
    return [f"{s}={user}/{server}" if s.endswith("!server") else s for s in scopes]


@pytest.fixture(scope="module")
def upstream():
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, upstream):
    for tool in (JUPYTERHUB, PROXY):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: install the hub extra and `npm ci --prefix deploy`")
    hub = Hub(tmp_path_factory.mktemp("hub"), upstream)
    try:
        hub.wait_ready()
        # Each user is used by its own tests, so that only the rate test reaches the rate limit.
        hub.tokens["alice"] = hub.user_token("alice")  # all of alice's permissions, like a token from the hub's page
        hub.tokens["bob"] = hub.user_token("bob", server_token_scopes(hs.SERVER_TOKEN_SCOPES, "bob"))
        hub.tokens["dave"] = hub.user_token("dave", server_token_scopes(list(hs.DEFAULT_SERVER_TOKEN_SCOPES), "dave"))
        hub.tokens["erin"] = hub.user_token("erin", server_token_scopes(hs.SERVER_TOKEN_SCOPES, "erin"))
        hub.tokens["carol"] = hub.user_token("carol")
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def fresh_upstream(upstream):
    """The upstream with nothing scripted left over, and up again after a test that stops it."""
    upstream.restart()
    yield upstream
    upstream.restart()


def chat(url: str, token: str | None, *, stream: bool = False, **extra) -> requests.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": QUESTION}], "stream": stream} | extra
    headers = _auth(token) if token else {}
    return requests.post(f"{url}/chat/completions", json=body, headers=headers, timeout=15, stream=stream)


def assert_keyless(response: requests.Response) -> None:
    """The instructor's key is in no header and no byte of the body."""
    assert all(KEY not in f"{name}: {value}" for name, value in response.headers.items())
    assert KEY.encode() not in response.content


def assert_one_line_error(response: requests.Response, status: int, says: str, *, own: bool = True) -> str:
    """An error in OpenAI's shape, one line, no key; ``own``: the service's (marked so), not the upstream's."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type"} and says in error["message"], error
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert response.headers.get(hs.SERVICE_HEADER) == (hs.SERVICE_NAME if own else None)
    assert_keyless(response)
    return error["message"]


# -- 1. replies reach the student, carried upstream with the instructor's key --------------------------------------


@pytest.mark.parametrize("via", ["direct", "proxied"])
def test_a_streamed_reply_arrives_as_it_is_written_and_upstream_sees_only_the_class_key(hub, fresh_upstream, via):
    text = "Which part of the pipeline runs once, and which every epoch?"
    fresh_upstream.script(Reply(text, chunk_size=6, delay=0.12))
    client = openai.OpenAI(base_url=getattr(hub, via), api_key=hub.tokens["alice"], max_retries=0, timeout=15)
    arrivals, got = [], []
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            got.append(chunk.choices[0].delta.content)
    assert "".join(got) == text
    # 10 chunks written 0.12 s apart: buffered, they would arrive together.
    assert len(arrivals) == 10 and arrivals[-1] - arrivals[0] > 0.6, "server-sent events arrive as they are written"
    (request,) = fresh_upstream.requests
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert hub.tokens["alice"] not in json.dumps(request), "the student's token never leaves the hub's machine"
    assert request["body"]["model"] == MODEL, "the class's model, whatever the student asked for"
    assert request["body"]["messages"] == [{"role": "user", "content": QUESTION}] and request["body"]["stream"] is True


def test_a_whole_reply_and_the_model_list_come_back_with_status_and_content_type(hub, fresh_upstream):
    fresh_upstream.script(Reply("What do you expect the cache to hold?"))
    client = openai.OpenAI(base_url=hub.direct, api_key=hub.tokens["alice"], max_retries=0, timeout=15)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}]
    )
    completion = raw.parse()
    assert raw.http_response.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    assert completion.choices[0].message.content == "What do you expect the cache to hold?"
    assert fresh_upstream.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    assert KEY not in raw.http_response.text and all(KEY not in v for v in raw.headers.values())
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
    assert "x-request-id" in raw.headers, "the upstream's request id passes through"


def test_the_tutor_answers_through_the_hub_with_the_students_own_token(hub, fresh_upstream, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_BASE_URL", hub.direct)
    monkeypatch.setenv("SOCRATIQ_API_KEY", hub.tokens["bob"])  # what spawner.api_token is, with SERVER_TOKEN_SCOPES
    tutor = Tutor("lab01_data")
    answer = "What would change if the augmentation ran before the cache? Think about each epoch."
    fresh_upstream.script(Reply(answer, chunk_size=5, delay=0.01))
    seen: list[str] = []
    reply = tutor.ask(QUESTION, on_text=seen.append)
    assert not reply.offline and reply.notice is None and reply.text.startswith(answer)
    assert len(seen) > 1, "the panel sees the reply grow"
    (request,) = fresh_upstream.requests
    assert request["headers"]["authorization"] == f"Bearer {KEY}" and request["body"]["stream"] is True
    assert request["body"]["model"] == MODEL and QUESTION in json.dumps(request["body"]["messages"])
    assert hub.tokens["bob"] not in json.dumps(request)
    assert tutor.status.startswith("SocratiQ is online") and KEY not in tutor.status


def test_a_spawned_servers_own_token_is_its_tutors_key_and_the_class_key_is_not_in_its_environment(
    hub, fresh_upstream, monkeypatch
):
    """The configuration, end to end: the hub starts a student's server with configure_hub's environment, and the
    token JupyterHub gave that server (scopes: SERVER_TOKEN_SCOPES) is what its tutor uses, and is accepted."""
    environ = hub.spawn("frank")
    assert environ["SOCRATIQ_API_KEY"] == environ["JUPYTERHUB_API_TOKEN"], "the server's own hub token"
    assert environ["SOCRATIQ_BASE_URL"] == hub.direct and environ["SOCRATIQ_MODEL"] == MODEL
    assert KEY not in json.dumps(environ) and not any(name.startswith("SOCRATIQ_UPSTREAM") for name in environ)
    scopes = requests.get(f"{hub.api}/user", headers=_auth(environ["SOCRATIQ_API_KEY"]), timeout=10).json()["scopes"]
    assert hs.ACCESS_SCOPE in scopes and "access:servers!server=frank/" in scopes
    for name in ("SOCRATIQ_BASE_URL", "SOCRATIQ_API_KEY", "SOCRATIQ_MODEL"):
        monkeypatch.setenv(name, environ[name])
    fresh_upstream.script(Reply("What does the cache store after the first epoch?"))
    reply = Tutor("lab01_data").ask(QUESTION)
    assert not reply.offline and reply.text.startswith("What does the cache store after the first epoch?")
    (request,) = fresh_upstream.requests
    assert request["headers"]["authorization"] == f"Bearer {KEY}" and request["body"]["model"] == MODEL
    assert environ["SOCRATIQ_API_KEY"] not in json.dumps(request)


# -- 2. who may use it ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "made-up-token-0123456789abcdef"], ids=["no token", "made-up token"])
def test_without_a_hub_token_the_answer_is_401_and_upstream_is_never_called(hub, fresh_upstream, token):
    for stream in (False, True):
        message = assert_one_line_error(chat(hub.direct, token, stream=stream), 401, "sign in to the class hub")
        assert message.startswith("sign in to the class hub")
    assert_one_line_error(requests.get(f"{hub.direct}/models", headers=_auth(token or ""), timeout=10), 401, "sign in")
    client = openai.OpenAI(base_url=hub.proxied, api_key=token or "x", max_retries=0, timeout=15)
    with pytest.raises(openai.AuthenticationError, match="sign in to the class hub"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}])
    assert fresh_upstream.requests == []


def test_a_server_token_with_the_default_scopes_is_refused_and_with_the_services_scope_accepted(hub, fresh_upstream):
    """What c.Spawner.server_token_scopes must be: the default ``server`` role's scopes identify the student but do
    not admit them (403); the default plus ``access:services!service=socratiq-llm`` (SERVER_TOKEN_SCOPES) does."""
    message = assert_one_line_error(chat(hub.direct, hub.tokens["dave"]), 403, hs.ACCESS_SCOPE)
    assert "ask your instructor" in message and fresh_upstream.requests == []
    fresh_upstream.script(Reply("Which step is random?"))
    response = chat(hub.direct, hub.tokens["erin"])
    assert (
        response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "Which step is random?"
    )
    assert [r["headers"]["authorization"] for r in fresh_upstream.requests] == [f"Bearer {KEY}"]


def test_the_tutor_with_a_made_up_token_gives_its_offline_answer_and_one_line(hub, fresh_upstream, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_BASE_URL", hub.direct)
    monkeypatch.setenv("SOCRATIQ_API_KEY", "not-a-hub-token")
    reply = Tutor("lab01_data").ask(QUESTION)
    assert reply.offline and "section “Input pipelines with tf.data”" in reply.text
    assert "(401)" in reply.notice and "\n" not in reply.notice
    assert fresh_upstream.requests == []


def test_only_the_llm_endpoints_are_forwarded(hub, fresh_upstream):
    for method, path in [
        ("POST", "files"),
        ("GET", "fine_tuning/jobs"),
        ("POST", "models"),
        ("GET", "%2e%2e/v1/models"),
        ("GET", "models/%2E%2E"),
    ]:
        response = requests.request(method, f"{hub.direct}/{path}", headers=_auth(hub.tokens["alice"]), timeout=10)
        assert_one_line_error(response, 404, "")
    response = requests.delete(f"{hub.direct}/models/x", headers=_auth(hub.tokens["alice"]), timeout=10)
    assert_one_line_error(response, 405, "does not accept DELETE")
    assert fresh_upstream.requests == []


# -- 3. the upstream failing ----------------------------------------------------------------------------------------


def test_an_upstream_that_is_down_is_502_and_the_tutor_answers_offline(hub, fresh_upstream, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_BASE_URL", hub.direct)
    monkeypatch.setenv("SOCRATIQ_API_KEY", hub.tokens["bob"])
    tutor = Tutor("lab01_data")
    fresh_upstream.stop()
    started = time.monotonic()
    for stream in (False, True):
        message = assert_one_line_error(chat(hub.direct, hub.tokens["erin"], stream=stream), 502, "is not answering")
        assert message.startswith("the class's LLM is not answering (connection refused)")
    reply = tutor.ask(QUESTION)
    assert time.monotonic() - started < 5, "a closed port is answered at once"
    assert reply.offline and "section “Input pipelines with tf.data”" in reply.text
    assert "server error (502)" in reply.notice and "\n" not in reply.notice


def test_an_upstream_that_does_not_answer_is_504_within_the_timeout(hub, fresh_upstream):
    late = UPSTREAM_TIMEOUT_S + 0.5
    fresh_upstream.script(Stall(late))
    started = time.monotonic()
    assert_one_line_error(chat(hub.direct, hub.tokens["erin"], stream=True), 504, f"within {UPSTREAM_TIMEOUT_S:g} s")
    assert UPSTREAM_TIMEOUT_S <= time.monotonic() - started < UPSTREAM_TIMEOUT_S + 2
    time.sleep(late + 0.5 - (time.monotonic() - started))  # the late answer arrives, and is dropped quietly
    assert len(fresh_upstream.requests) == 1
    fresh_upstream.script(Reply("On time."))
    assert chat(hub.direct, hub.tokens["erin"]).json()["choices"][0]["message"]["content"] == "On time."


def test_upstream_errors_pass_through_with_their_status_and_a_refused_key_is_the_hubs_problem(hub, fresh_upstream):
    fresh_upstream.script(
        Fail(429, message=f"Rate limit reached for key {KEY}", headers={"retry-after": "7"}),
        Fail(500),
        Fail(401, message=f"Incorrect API key provided: {KEY}"),
    )
    limited = chat(hub.direct, hub.tokens["erin"])
    assert_one_line_error(limited, 429, "Rate limit reached for key [redacted]", own=False)
    assert limited.headers["retry-after"] == "7"
    assert_one_line_error(chat(hub.direct, hub.tokens["erin"], stream=True), 500, "Simulated error", own=False)
    # The upstream refusing the instructor's key is no student's doing: a 502 that says so, not "sign in".
    assert_one_line_error(chat(hub.direct, hub.tokens["erin"]), 502, "refused the class's API key (HTTP 401)")


def test_a_reply_cut_upstream_is_cut_for_the_student_too(hub, fresh_upstream, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_BASE_URL", hub.direct)
    monkeypatch.setenv("SOCRATIQ_API_KEY", hub.tokens["bob"])
    tutor = Tutor("lab01_data")
    fresh_upstream.script(Hangup("Think about the epochs"))
    reply = tutor.ask(QUESTION)
    assert "dropped the connection mid-reply" in reply.notice, "not a clean end: the student can tell it was cut"
    fresh_upstream.script(Hangup("Think about"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        chat(hub.direct, hub.tokens["erin"], stream=True).content  # noqa: B018


def test_an_upstream_that_goes_silent_mid_reply_is_cut_after_the_timeout(hub, fresh_upstream):
    fresh_upstream.script(Reply("Half an answer", stall=8))
    started = time.monotonic()
    response = chat(hub.direct, hub.tokens["erin"], stream=True)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content  # noqa: B018
    assert UPSTREAM_TIMEOUT_S <= time.monotonic() - started < UPSTREAM_TIMEOUT_S + 2


def test_a_student_who_leaves_mid_reply_frees_the_upstream(hub, fresh_upstream):
    fresh_upstream.script(Reply("word " * 40, chunk_size=5, delay=0.1))
    response = chat(hub.direct, hub.tokens["erin"], stream=True)
    first = next(response.iter_lines())
    assert first.startswith(b"data: ")
    response.close()
    deadline = time.monotonic() + 5
    while "user:erin left before the reply ended" not in hub.log_tail(lines=200):
        assert time.monotonic() < deadline, "the service noticed the student leave"
        time.sleep(0.05)
    fresh_upstream.script(Reply("Still here."))
    assert chat(hub.direct, hub.tokens["erin"]).json()["choices"][0]["message"]["content"] == "Still here."


# -- 4. the key is never shown --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_upstream_that_echoes_the_key_has_it_redacted(hub, fresh_upstream, stream):
    # Byte-level redaction: the key whole in one event (as an upstream's own messages carry it). An LLM cannot
    # write it across deltas: the upstream never shows the key to the model.
    fresh_upstream.script(Reply(f"My key is {KEY}, and again: {KEY}.", chunk_size=200))
    response = chat(hub.direct, hub.tokens["erin"], stream=stream)
    assert response.status_code == 200
    assert_keyless(response)
    if stream:
        events = [line[6:] for line in response.text.splitlines() if line.startswith("data: {")]
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events if "choices" in e)
    else:
        text = response.json()["choices"][0]["message"]["content"]
    assert text == "My key is [redacted], and again: [redacted]."


# -- the per-user rate limit ----------------------------------------------------------------------------------------


def test_each_user_has_a_rate_limit_and_the_tutor_says_so(hub, fresh_upstream, monkeypatch):
    monkeypatch.setenv("SOCRATIQ_BASE_URL", hub.direct)
    monkeypatch.setenv("SOCRATIQ_API_KEY", hub.tokens["carol"])
    tutor = Tutor("lab01_data")  # made before the burst: the bucket refills one request every 3 s
    statuses = [
        requests.get(f"{hub.direct}/models", headers=_auth(hub.tokens["carol"]), timeout=10).status_code
        for _ in range(RATE_LIMIT)
    ]
    assert statuses == [200] * RATE_LIMIT
    refused = chat(hub.direct, hub.tokens["carol"])
    assert_one_line_error(refused, 429, f"{RATE_LIMIT} requests within a minute")
    assert 1 <= int(refused.headers["retry-after"]) <= 60 / RATE_LIMIT + 1
    reply = tutor.ask(QUESTION)
    assert reply.offline and "rate-limiting requests (429)" in reply.notice
    assert fresh_upstream.requests == [], "a refused request never reaches the upstream"
    assert chat(hub.direct, hub.tokens["erin"]).status_code == 200, "other students are not limited"


def test_the_rate_limiter_refills_at_its_rate():
    now = [0.0]
    limiter = hs.RateLimiter(6, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    assert limiter.take("a") == pytest.approx(10.0) and limiter.take("b") == 0.0
    now[0] = 10.0
    assert limiter.take("a") == 0.0 and limiter.take("a") == pytest.approx(10.0)
    assert hs.RateLimiter(0).take("a") == 0.0


# -- the hub's configuration ----------------------------------------------------------------------------------------


def test_configure_hub_wires_the_service_and_merges_with_settings_already_made(tmp_path):
    c = Config()  # settings made the way jupyterhub_config.py files make them, appended and updated lazily
    c.JupyterHub.services.append({"name": "other", "api_token": "x"})
    c.JupyterHub.load_roles = [{"name": "other-role", "scopes": ["read:users"], "services": ["other"]}]
    c.Spawner.environment.update({"KEEP": "1"})
    hs.configure_hub(c, upstream_url="https://api.example.org/v1", key_file=tmp_path / "k", model="m", port=10123)
    assert [s["name"] for s in c.JupyterHub.services] == ["other", "socratiq-llm"]
    service = c.JupyterHub.services[1]
    assert service["url"] == "http://127.0.0.1:10123" and service["display"] is False
    assert service["command"] == [sys.executable, "-m", "socratiq_ext.hub_service"]
    assert service["environment"] == {
        "SOCRATIQ_UPSTREAM_URL": "https://api.example.org/v1",
        "SOCRATIQ_UPSTREAM_KEY_FILE": str(tmp_path / "k"),
        "SOCRATIQ_UPSTREAM_MODEL": "m",
    }
    assert c.JupyterHub.extra_user_scopes == {"access:services!service=socratiq-llm"}
    assert c.Spawner.server_token_scopes == ["users:activity!user", "access:servers!server", hs.ACCESS_SCOPE]
    env = c.Spawner.environment
    assert env["KEEP"] == "1" and env["SOCRATIQ_BASE_URL"] == "http://127.0.0.1:10123/services/socratiq-llm/v1"
    assert env["SOCRATIQ_MODEL"] == "m" and env["SOCRATIQ_API_KEY"] is hs.student_token

    class Spawner:  # what JupyterHub calls the environment's functions with
        api_token = "the-servers-own-token"

    assert env["SOCRATIQ_API_KEY"](Spawner()) == "the-servers-own-token"
    # A redefined user role takes the scope instead (JupyterHub then ignores extra_user_scopes).
    c = Config()
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self"]}]
    c.Spawner.server_token_scopes = ["users:activity!user"]
    hs.configure_hub(c, upstream_url="http://127.0.0.1:11434/v1", python="/opt/venv/bin/python")
    assert c.JupyterHub.services[0]["command"] == ["/opt/venv/bin/python", "-m", "socratiq_ext.hub_service"]
    assert c.JupyterHub.load_roles == [{"name": "user", "scopes": [hs.ACCESS_SCOPE, "self"]}]
    assert "extra_user_scopes" not in c.JupyterHub
    assert c.Spawner.server_token_scopes == ["users:activity!user", hs.ACCESS_SCOPE]


def test_the_key_comes_from_its_file_stripped_and_bad_settings_are_one_line(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("\n sk-from-file \n")
    key_file.chmod(0o600)
    env = {"SOCRATIQ_UPSTREAM_URL": "https://api.example.org/v1/", "SOCRATIQ_UPSTREAM_KEY": "sk-from-env"}
    settings = hs.load_settings(env | {"SOCRATIQ_UPSTREAM_KEY_FILE": str(key_file)})
    assert settings.api_key == "sk-from-file" and settings.problem is None and settings.warnings == ()
    assert settings.upstream_url == "https://api.example.org/v1" and "sk-" not in repr(settings)
    assert hs.load_settings(env).api_key == "sk-from-env"
    key_file.chmod(0o644)
    assert "chmod 600" in hs.load_settings(env | {"SOCRATIQ_UPSTREAM_KEY_FILE": str(key_file)}).warnings[0]
    settings = hs.load_settings(
        {"SOCRATIQ_UPSTREAM_KEY_FILE": str(tmp_path / "absent"), "SOCRATIQ_UPSTREAM_TIMEOUT": "soon"}
    )
    assert settings.problem == (
        "SOCRATIQ_UPSTREAM_URL is not set; the key file SOCRATIQ_UPSTREAM_KEY_FILE cannot be read"
        " (FileNotFoundError); SOCRATIQ_UPSTREAM_TIMEOUT='soon' is not a positive number of seconds"
    )
    settings = hs.load_settings({"SOCRATIQ_UPSTREAM_URL": "https://user:sk-secret@api.example.org/v1"})
    assert "user or password" in settings.problem and "sk-secret" not in settings.problem
    assert "sk-secret" not in settings.describe()


def test_a_service_that_is_not_set_up_answers_503_with_the_reason(hub):
    """Run in this process (the hub's copy is set up): every request gets the reason in one line."""
    (port,) = _free_ports(1)
    settings = hs.load_settings(
        {"JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}", "JUPYTERHUB_API_URL": f"{hub.api}"}
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(hs.serve(settings, stop),), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/services/socratiq-llm/v1"
        deadline = time.monotonic() + 10
        while True:
            try:
                response = chat(url, hub.tokens["alice"])
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.05)
        assert_one_line_error(response, 503, "not set up (SOCRATIQ_UPSTREAM_URL is not set): tell your instructor")
        assert_one_line_error(requests.get(f"http://127.0.0.1:{port}/", timeout=5), 404, "/services/socratiq-llm/v1")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()
    assert not thread.is_alive()


# -- last: what the hub's log holds ---------------------------------------------------------------------------------


def test_the_log_names_each_request_and_never_the_key_or_a_token(hub):
    log = hub.log_tail(lines=100_000)
    assert "socratiq-llm" in log and f"serving /services/{hs.SERVICE_NAME}/v1" in log
    assert "user:alice POST /services/socratiq-llm/v1/chat/completions 200" in log
    assert "user:dave POST /services/socratiq-llm/v1/chat/completions 403" in log
    assert "the upstream http://127.0.0.1" in log, "failures are logged, naming the upstream"
    assert KEY not in log and not any(token in log for token in hub.tokens.values())
    service_lines = [line for line in log.splitlines() if line.startswith("[socratiq-llm ")]
    errors = [line for line in service_lines if " ERROR] " in line]
    assert all("refused the class's key (HTTP 401)" in line for line in errors), errors
    assert "Traceback" not in log and "Uncaught exception" not in log
