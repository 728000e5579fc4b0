"""Lab 6's process plumbing: a ring of NumPy worker processes, and the same ring simulated in threads.

A collective such as all-reduce is written from the point of view of *one*
rank: it holds its own array, can ``send`` a message to its right neighbour
and ``recv`` one from its left neighbour, and must end with the sum of every
rank's array. This module runs such a function:

- :func:`simulate_ring` -- every rank in a thread of this process, linked by
  in-memory queues: fast and deterministic, what the tests use;
- :class:`Ring` -- every rank in a real worker process (NumPy only, no
  TensorFlow), linked by ``multiprocessing`` queues. Start it with ``with``: its
  processes are killed and joined when the block ends, also when a cell fails,
  and an ``atexit`` hook stops any ring still running, so no process outlives
  the notebook. :meth:`Ring.kill` sends one worker SIGKILL, the fault that
  Lab 6's training must survive; the next :meth:`Ring.run` raises
  :class:`WorkerLost`.

The function's signature is ``fn(rank, world_size, data, send, recv)``; it
returns its rank's result. ``send`` never blocks (messages queue up), so a
rank may send before it receives; ``recv`` waits for the next message from the
left neighbour, in order. Both report their traffic: every run returns, per
rank, how many messages and bytes it sent.

Workers are *spawned* (fresh interpreters, on Linux, macOS and Windows alike:
forking a process that has TensorFlow's threads running is unsafe, and
Windows has no fork), and they never import TensorFlow. The function travels
to them pickled by value with ``cloudpickle``, so a function defined in a
notebook cell works as it is.
"""

from __future__ import annotations

import atexit
import multiprocessing
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cloudpickle
import numpy as np

__all__ = ["Ring", "RingRun", "WorkerLost", "running_rings", "simulate_ring", "stop_all"]

#: Seconds a rank waits for a message before it gives up (a wrong algorithm deadlocks otherwise).
RECV_TIMEOUT_S = 20.0

_running: list["Ring"] = []
_lock = threading.Lock()


class WorkerLost(RuntimeError):
    """A worker process died (killed, or crashed) while the ring was running."""


@dataclass(frozen=True)
class RingRun:
    """What one run of a collective returned: each rank's result, and what each rank sent."""

    outputs: list
    messages: list[int]
    bytes_sent: list[int]


class _Links:
    """One rank's two ends of the ring, counting what it sends."""

    def __init__(self, right, left, timeout: float, rank: int, world_size: int):
        self._right, self._left, self._timeout = right, left, timeout
        self._rank, self._world_size = rank, world_size
        self.messages = 0
        self.bytes_sent = 0

    def send(self, array) -> None:
        array = np.array(array, copy=True)  # the receiver gets its own copy, as over a wire
        self.messages += 1
        self.bytes_sent += int(array.nbytes)
        self._right.put(array)

    def recv(self) -> np.ndarray:
        try:
            return self._left.get(timeout=self._timeout)
        except queue.Empty:
            left = (self._rank - 1) % self._world_size
            raise TimeoutError(
                f"rank {self._rank} waited {self._timeout:g} s for a message from rank {left}: does every rank "
                f"send as many messages as its right neighbour receives, before it waits?"
            ) from None


def simulate_ring(fn: Callable, arrays: Sequence, timeout: float = RECV_TIMEOUT_S) -> RingRun:
    """Run ``fn(rank, world_size, data, send, recv)`` for every rank in threads; ``arrays[r]`` is rank r's data.

    Raises the first rank's exception, if any rank raised.
    """
    p = len(arrays)
    if p < 1:
        raise ValueError("a ring needs at least one rank")
    inbox = [queue.Queue() for _ in range(p)]  # inbox[r]: messages to rank r, from rank r - 1
    links = [_Links(inbox[(r + 1) % p], inbox[r], timeout, r, p) for r in range(p)]
    outputs: list = [None] * p
    failures: dict[int, BaseException] = {}

    def work(rank: int) -> None:
        try:
            outputs[rank] = fn(rank, p, arrays[rank], links[rank].send, links[rank].recv)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            failures[rank] = error

    threads = [threading.Thread(target=work, args=(r,), daemon=True) for r in range(p)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        rank = min(failures)
        raise failures[rank]
    return RingRun(outputs, [lk.messages for lk in links], [lk.bytes_sent for lk in links])


def _reply(results, rank: int, value) -> None:
    """Send a rank's result to the notebook, or say why it cannot travel.

    A queue pickles in a background thread and drops what it cannot pickle, which would leave the
    notebook waiting forever: pickle here (by value, like the function), where a failure can be reported.
    """
    try:
        payload = cloudpickle.dumps(value)
    except Exception as error:  # noqa: BLE001 - any pickling failure becomes the rank's error
        results.put(
            (
                rank,
                "error",
                f"rank {rank} returned a value that cannot be sent back to the notebook "
                f"({type(error).__name__}: {error}); return a NumPy array",
            )
        )
    else:
        results.put((rank, "ok", payload))


def _worker(pickled_fn: bytes, rank, world_size, right, left, tasks, results, barrier, timeout) -> None:
    """A worker process's loop: run the collective for every task until told to stop."""
    fn = cloudpickle.loads(pickled_fn)
    while True:
        task = tasks.get()
        if task is None:
            return
        kind, payload = task
        links = _Links(right, left, timeout, rank, world_size)
        try:
            if kind == "run":
                out = fn(rank, world_size, payload, links.send, links.recv)
                _reply(results, rank, (out, links.messages, links.bytes_sent))
            else:  # "time": (n_elements, repeats, dtype)
                n, repeats, dtype = payload
                data = np.full(n, rank + 1, dtype=dtype)
                seconds = []
                for _ in range(repeats):
                    barrier.wait(timeout)
                    start = time.perf_counter()
                    fn(rank, world_size, data, links.send, links.recv)
                    seconds.append(time.perf_counter() - start)
                _reply(results, rank, seconds)
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
            results.put((rank, "error", traceback.format_exc()))


class Ring:
    """``world_size`` worker processes that run ``fn(rank, world_size, data, send, recv)`` in a ring.

    Use it as a context manager; :meth:`close` (or the end of the ``with`` block, or the interpreter's exit)
    stops and joins every worker.
    """

    def __init__(self, fn: Callable, world_size: int, timeout: float = RECV_TIMEOUT_S):
        if world_size < 1:
            raise ValueError("a ring needs at least one rank")
        self.fn, self.world_size, self.timeout = fn, world_size, timeout
        self.processes: list = []
        self._closed = True

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> "Ring":
        ctx = multiprocessing.get_context("spawn")
        p = self.world_size
        self._inbox = [ctx.Queue() for _ in range(p)]
        self._tasks = [ctx.Queue() for _ in range(p)]
        self._results = ctx.Queue()
        self._barrier = ctx.Barrier(p)
        pickled_fn = cloudpickle.dumps(self.fn)
        for r in range(p):
            proc = ctx.Process(
                target=_worker,
                name=f"ring-rank-{r}",
                daemon=True,
                args=(
                    pickled_fn,
                    r,
                    p,
                    self._inbox[(r + 1) % p],
                    self._inbox[r],
                    self._tasks[r],
                    self._results,
                    self._barrier,
                    self.timeout,
                ),
            )
            proc.start()
            self.processes.append(proc)
        self._closed = False
        with _lock:
            _running.append(self)
        return self

    def __enter__(self) -> "Ring":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (politely, then by force) and join it. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for proc, tasks in zip(self.processes, getattr(self, "_tasks", [])):
            if proc.is_alive():
                try:
                    tasks.put(None)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 2.0
        for proc in self.processes:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
        for q in [*getattr(self, "_inbox", []), *getattr(self, "_tasks", []), getattr(self, "_results", None)]:
            if q is not None:
                q.cancel_join_thread()
                q.close()
        with _lock:
            if self in _running:
                _running.remove(self)

    @property
    def alive(self) -> list[bool]:
        return [proc.is_alive() for proc in self.processes]

    def kill(self, rank: int) -> None:
        """Kill worker ``rank`` at once (SIGKILL, via ``Process.kill()``), as a crashed machine would die."""
        self.processes[rank].kill()
        self.processes[rank].join(5.0)

    # -- work -------------------------------------------------------------------------------------
    def run(self, arrays: Sequence) -> RingRun:
        """Run the collective once: rank r gets ``arrays[r]``. Raises :class:`WorkerLost` if a worker is dead."""
        if len(arrays) != self.world_size:
            raise ValueError(f"{len(arrays)} arrays for {self.world_size} ranks")
        self._check_open()
        for r, tasks in enumerate(self._tasks):
            tasks.put(("run", np.asarray(arrays[r])))
        replies = self._collect()
        outputs = [replies[r][0] for r in range(self.world_size)]
        return RingRun(
            outputs, [replies[r][1] for r in range(self.world_size)], [replies[r][2] for r in range(self.world_size)]
        )

    def time(self, n_elements: int, repeats: int = 5, dtype=np.float32) -> list[float]:
        """Seconds per all-reduce of ``n_elements`` per rank, ``repeats`` times (the slowest rank each time).

        Every repeat starts at a barrier, so that no rank's clock includes waiting for the others to start.
        """
        self._check_open()
        for tasks in self._tasks:
            tasks.put(("time", (int(n_elements), int(repeats), np.dtype(dtype).str)))
        replies = self._collect()
        return [max(replies[r][i] for r in range(self.world_size)) for i in range(repeats)]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the ring is not running: use it in a `with cluster.Ring(...) as ring:` block")
        dead = [r for r, alive in enumerate(self.alive) if not alive]
        if dead:
            raise WorkerLost(
                f"worker process(es) {dead} are dead (exit codes {[self.processes[r].exitcode for r in dead]})"
            )

    def _collect(self) -> dict:
        """Every rank's reply; raises at once if a rank failed or died, and after a silence of twice the
        receive timeout (every rank's own waits time out before that, so only a lost reply gets there)."""
        replies: dict = {}
        deadline = time.monotonic() + 2 * self.timeout
        while len(replies) < self.world_size:
            try:
                rank, status, value = self._results.get(timeout=0.05)
            except queue.Empty:
                dead = [r for r, alive in enumerate(self.alive) if not alive]
                if dead:
                    raise WorkerLost(
                        f"worker process(es) {dead} died during the collective (exit codes "
                        f"{[self.processes[r].exitcode for r in dead]})"
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"ranks {sorted(set(range(self.world_size)) - set(replies))} sent no result "
                        f"for {2 * self.timeout:g} s"
                    ) from None
                continue
            if status == "error":
                raise RuntimeError(f"rank {rank} raised:\n{value}")
            replies[rank] = cloudpickle.loads(value)
            deadline = time.monotonic() + 2 * self.timeout
        return replies


def running_rings() -> list[Ring]:
    """The rings started and not closed yet."""
    with _lock:
        return list(_running)


def stop_all() -> None:
    """Close every ring still running (registered with ``atexit``)."""
    for ring in running_rings():
        ring.close()


atexit.register(stop_all)
