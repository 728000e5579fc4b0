"""Tests for course.serving: a tornado app in a background thread that always stops, and the load generator.

Real servers on 127.0.0.1, real sockets; nothing asserts on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import tornado.web

from course.serving import BackgroundServer, load_test, port_is_open, ports_used, running_servers, stop_all


class Echo(tornado.web.RequestHandler):
    """Answers a POST with its own body and how many requests were in flight at once."""

    inflight = 0
    most = 0

    async def post(self):
        Echo.inflight += 1
        Echo.most = max(Echo.most, Echo.inflight)
        try:
            await asyncio.sleep(float(self.get_argument("sleep", "0")))
            self.write({"echo": json.loads(self.request.body)})
        finally:
            Echo.inflight -= 1


class Broken(tornado.web.RequestHandler):
    def post(self):
        self.set_status(500)
        self.finish("nope")


def make_app():
    return tornado.web.Application([(r"/echo", Echo), (r"/broken", Broken)])


def server_threads():
    return [t for t in threading.enumerate() if t.name.startswith("model-server")]


@pytest.fixture(autouse=True)
def nothing_left_behind():
    yield
    left = running_servers()
    stop_all()
    assert left == [] and server_threads() == [], f"a test left servers running: {left}"


def test_serves_on_loopback_and_stops_completely():
    server = BackgroundServer(make_app()).start()
    try:
        assert server.running and server in running_servers()
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert port_is_open(server.port)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("POST", "/echo", body=b'{"a": 1}')
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read()) == {"echo": {"a": 1}}
        # the connection stays open (keep-alive) while the server stops: stop() must still return
    finally:
        server.stop()
    assert not server.running and server not in running_servers()
    assert not port_is_open(server.port), "the listening socket must be closed"
    assert server_threads() == []
    assert server.port in ports_used()
    server.stop()  # twice is fine


def listening_addresses(port: int) -> list[str]:
    """The local addresses listening on a TCP port, from the kernel's socket tables (Linux)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def test_binds_127_0_0_1_only():
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux's /proc/net/tcp")
    with BackgroundServer(make_app()) as server:
        assert listening_addresses(server.port) == ["127.0.0.1"]
    assert listening_addresses(server.port) == []


def test_the_block_stops_the_server_when_it_raises():
    with pytest.raises(RuntimeError, match="inside"):
        with BackgroundServer(make_app()) as server:
            port = server.port
            raise RuntimeError("inside the block")
    assert not port_is_open(port) and server_threads() == []


def test_a_server_starts_once():
    with BackgroundServer(make_app()) as server:
        with pytest.raises(RuntimeError, match="starts once"):
            server.start()


def test_url_needs_a_started_server():
    with pytest.raises(RuntimeError, match="not been started"):
        _ = BackgroundServer(make_app()).url


def test_stop_all_stops_every_server():
    servers = [BackgroundServer(make_app()).start() for _ in range(3)]
    assert set(running_servers()) >= set(servers)
    assert stop_all() >= 3
    assert running_servers() == [] and server_threads() == []
    assert not any(port_is_open(s.port) for s in servers)


def test_access_lines_are_not_logged():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    access = logging.getLogger("tornado.access")
    handler, level = Keep(), access.level
    access.addHandler(handler)
    access.setLevel(logging.DEBUG)
    try:
        with BackgroundServer(make_app()) as server:
            for path in ("/echo", "/missing", "/broken"):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                conn.request("POST", path, body=b"{}")
                conn.getresponse().read()
                conn.close()
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert records == []


def test_load_test_counts_orders_and_overlaps_requests():
    Echo.most = 0
    bodies = [json.dumps(i).encode() for i in range(7)]
    with BackgroundServer(make_app()) as server:
        result = load_test(f"{server.url}/echo?sleep=0.05", bodies, clients=4, requests_per_client=3)
    assert result.ok and result.clients == 4
    assert result.latencies_s.shape == (12,) and (result.latencies_s > 0).all()
    assert result.statuses.tolist() == [200] * 12
    assert [json.loads(r)["echo"] for r in result.replies] == [i % 7 for i in range(12)], "reply i belongs to request i"
    assert result.wall_s > 0
    assert Echo.most == 4, "the clients run concurrently"


def test_load_test_reports_failures():
    with BackgroundServer(make_app()) as server:
        broken = load_test(f"{server.url}/broken", [b"{}"], clients=2, requests_per_client=2)
        port = server.port
    assert not broken.ok and broken.statuses.tolist() == [500] * 4
    refused = load_test(f"http://127.0.0.1:{port}/echo", [b"{}"], clients=2, requests_per_client=2, timeout=2)
    assert refused.statuses.tolist() == [0] * 4 and not refused.ok


@pytest.mark.parametrize("kwargs", [{"clients": 0}, {"requests_per_client": 0}])
def test_load_test_refuses_empty_loads(kwargs):
    with pytest.raises(ValueError):
        load_test("http://127.0.0.1:1/x", [b"{}"], **kwargs)
    with pytest.raises(ValueError):
        load_test("http://127.0.0.1:1/x", [])


def test_a_process_that_exits_with_a_server_running_stops_it_quietly():
    script = textwrap.dedent("""
        import tornado.web
        from course.serving import BackgroundServer, port_is_open
        server = BackgroundServer(tornado.web.Application([])).start()
        assert port_is_open(server.port)
        print(server.port)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert not port_is_open(int(done.stdout))
