"""course.cluster: the ring runs a collective in threads and in real processes, counts traffic, and never leaks a worker."""

from __future__ import annotations

import numpy as np
import pytest

from course import cluster


def pass_around(rank, world_size, data, send, recv):
    """A simple (not bandwidth-optimal) all-reduce: every array travels the whole ring once."""
    total = np.array(data, dtype=np.float64)
    travelling = total.copy()
    for _ in range(world_size - 1):
        send(travelling)
        travelling = recv()
        total = total + travelling
    return total


def echo_rank(rank, world_size, data, send, recv):
    send(np.array([rank]))
    return int(recv()[0])


@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_simulated_ring_sums_and_counts_traffic(p):
    rng = np.random.default_rng(p)
    arrays = [rng.normal(size=11) for _ in range(p)]
    run = cluster.simulate_ring(pass_around, arrays)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(arrays, axis=0))
    assert run.messages == [p - 1] * p
    assert run.bytes_sent == [(p - 1) * 11 * 8] * p


def test_messages_go_to_the_right_neighbour():
    assert cluster.simulate_ring(echo_rank, [None] * 4).outputs == [3, 0, 1, 2]


def test_a_rank_that_never_gets_a_message_times_out():
    def waits(rank, world_size, data, send, recv):
        return recv()

    with pytest.raises(TimeoutError, match="waited"):
        cluster.simulate_ring(waits, [None, None], timeout=0.2)


def test_an_exception_in_a_rank_reaches_the_caller():
    def fails(rank, world_size, data, send, recv):
        raise ValueError(f"rank {rank}")

    with pytest.raises(ValueError, match="rank 0"):
        cluster.simulate_ring(fails, [None, None])


def test_processes_run_time_and_close():
    arrays = [np.arange(10.0) * (r + 1) for r in range(3)]
    with cluster.Ring(pass_around, 3) as ring:
        run = ring.run(arrays)
        assert len({p.pid for p in ring.processes}) == 3
        times = ring.time(1000, repeats=3)
        procs = list(ring.processes)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(arrays, axis=0))
    assert run.messages == [2, 2, 2]
    assert len(times) == 3 and all(t > 0 for t in times)
    assert not any(p.is_alive() for p in procs)
    assert cluster.running_rings() == []


def test_a_killed_worker_raises_worker_lost_and_the_rest_are_stopped():
    ring = cluster.Ring(pass_around, 3).start()
    try:
        ring.kill(1)
        assert ring.alive == [True, False, True]
        assert ring.processes[1].exitcode == -9
        with pytest.raises(cluster.WorkerLost):
            ring.run([np.ones(4)] * 3)
    finally:
        ring.close()
    assert not any(p.is_alive() for p in ring.processes)


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    def fails(rank, world_size, data, send, recv):
        raise ValueError("boom")

    with cluster.Ring(fails, 2) as ring:
        with pytest.raises(RuntimeError, match="boom"):
            ring.run([np.ones(2)] * 2)


def test_stop_all_closes_forgotten_rings():
    ring = cluster.Ring(pass_around, 2).start()
    cluster.stop_all()
    assert cluster.running_rings() == []
    assert not any(ring.alive)


def test_a_closed_ring_refuses_work():
    ring = cluster.Ring(pass_around, 2)
    with pytest.raises(RuntimeError, match="not running"):
        ring.run([np.ones(2)] * 2)


def test_a_result_that_cannot_be_sent_back_is_an_error_not_a_hang():
    def returns_a_generator(rank, world_size, data, send, recv):
        return (x for x in data)

    class Anything:  # a class defined here travels by value, as from a notebook
        def __eq__(self, other):
            return True

    def returns_an_object(rank, world_size, data, send, recv):
        return Anything()

    with cluster.Ring(returns_a_generator, 2) as ring:
        with pytest.raises(RuntimeError, match="cannot be sent back"):
            ring.run([np.ones(2)] * 2)
    with cluster.Ring(returns_an_object, 2) as ring:
        assert all(out == "anything" for out in ring.run([np.ones(2)] * 2).outputs)
