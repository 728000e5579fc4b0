"""Lab 4's serving plumbing: a tornado app in a background thread, and a closed-loop load generator.

A notebook cannot block on a web server's event loop, and a lab must not leave
a server behind when it ends. So the prediction service runs in a thread with
its own asyncio event loop, on 127.0.0.1 only (graded kernels may run in a
network namespace with nothing but loopback), on a free port the operating
system picks:

- :class:`BackgroundServer` -- start/stop, or ``with``; ``stop()`` closes the
  listening socket and every open connection, stops the loop and joins the
  thread; an ``atexit`` hook stops whatever is still running;
- :func:`running_servers` / :func:`stop_all` -- the servers not stopped yet;
- :func:`ports_used` -- every port this process's servers listened on (to check they are closed);
- :func:`port_is_open` -- does anything accept connections on a port;
- :func:`load_test` -- N client threads, each with its own keep-alive
  connection, sending requests back to back (a *closed-loop* load), timing
  every request.

Tornado logs one access line per request through the ``logging`` module, which
ends up on stderr; :class:`BackgroundServer` turns those lines off for the apps
it runs (nbgrader scores a cell that writes to stderr as failed).
"""

from __future__ import annotations

import asyncio
import atexit
import http.client
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

__all__ = ["BackgroundServer", "LoadResult", "load_test", "port_is_open", "ports_used", "running_servers", "stop_all"]

#: The only address the course's servers bind.
HOST = "127.0.0.1"

_running: list["BackgroundServer"] = []
_ports: list[int] = []
_lock = threading.Lock()


def _no_access_log(handler) -> None:
    """Tornado's ``log_function`` setting: log nothing (access lines would go to stderr)."""


class BackgroundServer:
    """A tornado ``Application`` served on 127.0.0.1 from a background thread.

    ``port`` is known as soon as :meth:`start` returns (the socket is bound in
    the caller's thread, on port 0 unless one is given), and the server accepts
    connections from then on. Use it as a context manager so that an exception
    in the block still stops it::

        with BackgroundServer(app) as server:
            requests.get(f"{server.url}/v1/models/digits")
    """

    def __init__(self, app, port: int = 0, name: str = "model-server"):
        self.app = app
        self.requested_port = port
        self.name = name
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> "BackgroundServer":
        """Bind the port, start the thread and its event loop; return when the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("a BackgroundServer starts once; make a new one")
        import tornado.netutil

        self.app.settings.setdefault("log_function", _no_access_log)
        sockets = tornado.netutil.bind_sockets(self.requested_port, HOST, family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(sockets, ready), name=f"{self.name}:{self.port}", daemon=True
        )
        with _lock:
            _running.append(self)
            _ports.append(self.port)
        self._thread.start()
        if not ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the server did not start: {self._error!r}")
        return self

    def _serve(self, sockets, ready: threading.Event) -> None:
        from tornado.httpserver import HTTPServer

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._server = HTTPServer(self.app)
            self._server.add_sockets(sockets)
        except BaseException as error:  # noqa: BLE001 -- report it to start() instead of dying silently
            self._error = error
            for s in sockets:
                s.close()
            loop.close()
            ready.set()
            return
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close every connection, stop the loop and join the thread. Safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is not None and thread.is_alive() and loop is not None and not loop.is_closed():

            async def shutdown():
                self._server.stop()  # closes the listening socket: new connections are refused
                await self._server.close_all_connections()

            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)
        with _lock:
            if self in _running:
                _running.remove(self)
        if thread is not None and thread.is_alive():
            raise RuntimeError(f"the server thread {thread.name} did not stop within {timeout} s")

    def __enter__(self) -> "BackgroundServer":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackgroundServer {self.name} on {HOST}:{self.port} ({state})>"


def running_servers() -> list[BackgroundServer]:
    """The servers started and not stopped yet."""
    with _lock:
        return list(_running)


def ports_used() -> list[int]:
    """Every port a :class:`BackgroundServer` of this process has listened on, in order."""
    with _lock:
        return list(_ports)


def stop_all() -> int:
    """Stop every server still running; return how many there were."""
    servers = running_servers()
    for server in servers:
        server.stop()
    return len(servers)


atexit.register(stop_all)


def port_is_open(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class LoadResult:
    """What a :func:`load_test` measured.

    ``latencies_s[i]`` and ``statuses[i]`` belong to request ``i``, which sent
    ``bodies[i % len(bodies)]``; client ``c`` sent requests
    ``c * requests_per_client`` to ``(c + 1) * requests_per_client - 1``, in order.
    ``wall_s`` runs from the moment every client was ready to the last reply.
    """

    latencies_s: np.ndarray
    statuses: np.ndarray
    replies: tuple[bytes, ...]
    wall_s: float
    clients: int

    @property
    def ok(self) -> bool:
        """Every request answered with HTTP 200."""
        return bool(np.all(self.statuses == 200))


def load_test(
    url: str,
    bodies: Sequence[bytes],
    *,
    clients: int = 8,
    requests_per_client: int = 40,
    timeout: float = 10.0,
) -> LoadResult:
    """POST ``bodies`` to ``url`` from ``clients`` threads at once, each sending its next request as soon as
    the previous one is answered (a closed loop: the load adapts to the server, as many real clients do).

    Each client keeps one HTTP/1.1 connection open (``http.client``: little client-side work, so the
    numbers are mostly the server's). A request that fails at the socket level counts with status 0.
    """
    if clients < 1 or requests_per_client < 1 or not bodies:
        raise ValueError("need at least one client, one request per client and one body")
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    total = clients * requests_per_client
    latencies = np.zeros(total)
    statuses = np.zeros(total, dtype=np.int64)
    replies: list[bytes] = [b""] * total
    start_line = threading.Barrier(clients + 1, timeout=60)

    def client(c: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            start_line.wait()
            for j in range(requests_per_client):
                i = c * requests_per_client + j
                begin = time.perf_counter()
                try:
                    conn.request(
                        "POST", path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"}
                    )
                    response = conn.getresponse()
                    replies[i] = response.read()
                    statuses[i] = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()  # reconnect for the next request
                latencies[i] = time.perf_counter() - begin
        finally:
            conn.close()

    with ThreadPoolExecutor(clients, thread_name_prefix="load-client") as pool:
        running = [pool.submit(client, c) for c in range(clients)]
        start_line.wait()
        begin = time.perf_counter()
        for future in running:
            future.result()
        wall = time.perf_counter() - begin
    return LoadResult(latencies, statuses, tuple(replies), wall, clients)
