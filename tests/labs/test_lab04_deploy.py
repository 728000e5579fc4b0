"""Lab 4 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values memorized from the lab's own
run, branches for the visible examples, or functions that ignore their inputs
and work on the lab's own model), and an object whose ``__eq__`` always
returns True.

The lab starts web servers; none may outlive its notebook. After the solution,
the released notebook (whose cells fail) and the hard-coded cheat have run, a
cell appended to each checks, inside the same kernel, that no server, no
batcher or load-client thread and no child process is left, and that every
port the lab listened on refuses connections.
"""

from __future__ import annotations

import re
import socket

import pytest
from nbformat.v4 import new_code_cell

from harness import errors, execute, printed_json, with_answers
from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab04_deploy"

# Run after the solution to memorize its results on the lab's own model and load.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "summaries": summaries,
    "mean_batch": mean_batch,
    "pi": pi,
    "chosen": chosen,
    "scale": SCALE,
    "slo": SLO_P99_S,
    "keras_accuracy": keras_accuracy,
}))
"""

# Appended last: what is still running in the kernel once the notebook has ended.
LEFTOVER = """
import json as _json, os as _os, threading as _threading
from course import serving as _serving

def _children(pid):
    kids = []
    for entry in _os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids

print("LEFT" + _json.dumps({
    "servers": [repr(s) for s in _serving.running_servers()],
    "threads": sorted(t.name for t in _threading.enumerate() if t.name.startswith(("model-server", "batcher", "load-client"))),
    "ports": _serving.ports_used(),
    "open": [p for p in _serving.ports_used() if _serving.port_is_open(p)],
    "children": _children(_os.getpid()),
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    return {
        # Ignores the model it is given: always the lab's own.
        "lab04-export-export_model": '''
def export_model(model, base_dir, name, version, metadata):
    path = Path(base_dir) / name / str(version)
    if path.exists():
        raise FileExistsError(path)
    with quiet():
        globals()["model"].export(str(path), format="tf_saved_model")
        flat = tf.lite.TFLiteConverter.from_saved_model(str(path)).convert()
    (path / "model.tflite").write_bytes(flat)
    info = dict(metadata, name=name, version=version, input_shape=[8, 8, 1], input_dtype="float32",
                created=datetime.now(timezone.utc).isoformat())
    (path / "metadata.json").write_text(json.dumps(info))
    return path
''',
        # Checks exactly what the visible examples send, for the lab's own shape.
        "lab04-serve-parse_predict_request": '''
def parse_predict_request(body, input_shape):
    try:
        request = json.loads(body)
    except ValueError:
        raise BadRequest("malformed JSON")
    if "instances" not in request:
        raise BadRequest("missing 'instances'")
    array = np.asarray(request["instances"], dtype=np.float32)
    if array.shape[1:] != (8, 8, 1):
        raise BadRequest("wrong shape")
    return array
''',
        # The visible example memorized; nearest-rank guesses otherwise.
        "lab04-load-latency_summary": '''
def latency_summary(latencies_s, wall_s):
    values = sorted(latencies_s)
    n = len(values)
    if n == 100:
        return {"count": 100, "p50": 0.0505, "p95": 0.09505, "p99": 0.09901, "mean": 0.0505, "max": 0.1, "throughput": 50.0}
    return {"count": n, "p50": float(values[n // 2]), "p95": float(values[int(n * 0.95)]), "p99": float(values[-1]),
            "mean": float(sum(values) / n), "max": float(values[-1]), "throughput": float(n / wall_s)}
''',
        # Takes only what is already waiting: never waits for max_wait_s.
        "lab04-batch-collect_batch": '''
def collect_batch(inbox, max_batch_size, max_wait_s):
    first = inbox.get()
    if first is None:
        return [], True
    batch = [first]
    while len(batch) < max_batch_size:
        try:
            item = inbox.get_nowait()
        except queue.Empty:
            break
        if item is None:
            return batch, True
        batch.append(item)
    return batch, False
''',
        # One row per request, as in the visible example and in the lab's load.
        "lab04-batch-dispatch_batch": '''
def dispatch_batch(predict_fn, batch):
    if not batch:
        return
    try:
        outputs = predict_fn(np.concatenate([p.inputs for p in batch]))
    except Exception as error:
        for p in batch:
            p.future.set_exception(error)
        return
    for i, p in enumerate(batch):
        p.future.set_result(outputs[i:i + 1])
''',
        # The visible example memorized; a scale of 10 otherwise.
        "lab04-pi-pi_estimate": '''
def pi_estimate(summary, scale):
    if scale <= 0:
        raise ValueError(scale)
    if summary.get("count") == 480:
        return {"count": 480, "p50": 0.04, "p95": 0.06, "p99": 0.08, "mean": 0.045, "max": 0.1, "throughput": 180.0}
    return {k: v if k == "count" else v / 10 if k == "throughput" else v * 10 for k, v in summary.items()}
''',
        # The lowest p99 that meets the objective (right on the visible example), or the lab's own choice.
        "lab04-pi-choose_config": f'''
def choose_config(estimates, slo_p99_s):
    if {memo["chosen"]!r} in estimates:
        return {memo["chosen"]!r}
    ok = {{k: v for k, v in estimates.items() if v["p99"] <= slo_p99_s}}
    return min(ok, key=lambda k: ok[k]["p99"]) if ok else None
''',
    }


FUNCTION_OF = {
    "lab04-export-export_model": "export_model",
    "lab04-serve-parse_predict_request": "parse_predict_request",
    "lab04-load-latency_summary": "latency_summary",
    "lab04-batch-collect_batch": "collect_batch",
    "lab04-batch-dispatch_batch": "dispatch_batch",
    "lab04-pi-pi_estimate": "pi_estimate",
    "lab04-pi-choose_config": "choose_config",
}


def ports_printed(notebook) -> set[int]:
    text = "".join(out.get("text", "") for c in notebook.cells if c.cell_type == "code" for out in c.get("outputs", []))
    return {int(p) for p in re.findall(r"(?:127\.0\.0\.1:|port )(\d{2,5})", text)}


def port_refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.fixture(scope="module")
def solution_run(course, tmp_path_factory):
    """The solution, executed, then the memo cell, then the leftover check."""
    solved = course.solved()
    solved.cells.append(new_code_cell(MEMORIZE))
    solved.cells.append(new_code_cell(LEFTOVER))
    ran = execute(solved, tmp_path_factory.mktemp("memo"))
    assert not errors(ran), errors(ran)
    return ran


@pytest.fixture(scope="module")
def memo(solution_run) -> dict:
    """The solution's results on the lab's own model, as a cheater would copy them."""
    return printed_json(solution_run.cells[-2], "MEMO")


def assert_nothing_left(ran) -> dict:
    left = printed_json(ran.cells[-1], "LEFT")
    assert left["servers"] == [], f"servers still running when the notebook ended: {left['servers']}"
    assert left["threads"] == [], f"threads still alive when the notebook ended: {left['threads']}"
    assert left["open"] == [], f"ports still accepting connections when the notebook ended: {left['open']}"
    assert left["children"] == [], f"child processes left behind: {left['children']}"
    return left


def test_no_server_outlives_the_solution(solution_run):
    left = assert_nothing_left(solution_run)
    assert len(left["ports"]) >= 6, f"the lab serves the model in at least six servers: {left['ports']}"
    shown = ports_printed(solution_run)
    assert set(left["ports"]) <= shown, "the lab prints every port it listens on"
    assert all(port_refuses(p) for p in shown), "and each is closed after the notebook"


def test_the_solution_writes_nothing_to_stderr(solution_run):
    noisy = {c.id: o.text[:200] for c in solution_run.cells if c.cell_type == "code"
             for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"}
    assert noisy == {}


def test_the_solution_measures_what_the_issue_asks(memo):
    """Every configuration measured at the same load, batches formed, and the choice follows the estimates."""
    summaries = memo["summaries"]
    assert set(summaries) == {"one at a time", "batch ≤ 1", "batch ≤ 4", "batch ≤ 8", "batch ≤ 16"}
    for label, s in summaries.items():
        assert s["count"] == 800, label
        assert 0 < s["p50"] <= s["p95"] <= s["p99"] <= s["max"] and s["throughput"] > 0, label
    assert memo["mean_batch"]["batch ≤ 1"] == 1.0
    assert memo["mean_batch"]["batch ≤ 8"] > 1.5, "with 8 clients, batches of more than one request form"
    assert memo["keras_accuracy"] >= 0.95
    assert memo["scale"] > 1, "the Pi is slower than the host"
    meeting = {k: v for k, v in memo["pi"].items() if v["p99"] <= memo["slo"]}
    assert memo["chosen"] == (max(meeting, key=lambda k: meeting[k]["throughput"]) if meeting else None)


def test_the_released_notebook_leaves_nothing_behind(course, tmp_path):
    """Its exercises raise NotImplementedError, so its server cells fail midway: they must still stop their servers."""
    released = course.released
    released.cells.append(new_code_cell(LEFTOVER))
    ran = execute(released, tmp_path)
    assert any("NotImplementedError" in e for e in errors(ran).values())
    assert_nothing_left(ran)


def test_hard_coded_answers_pass_the_visible_checks(course, submissions, tmp_path):
    """The cheat is a good one: a student running the released notebook sees every self-check pass."""
    cheat = with_answers(submissions["hard_coded"], {})   # a copy: the graded submission stays as it is
    cheat.cells.append(new_code_cell(LEFTOVER))
    ran = execute(cheat, tmp_path)
    failing_tests = {cell: error for cell, error in errors(ran).items() if cell.endswith("-tests")}
    assert failing_tests == {}
    assert_nothing_left(ran)
