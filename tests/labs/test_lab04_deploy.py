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

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests
from harness import errors, printed_json

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
# The last cell of the graded solution, released notebook and hard-coded cheat: what each left running.
AFTER_RUN = LEFTOVER


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    return {
        # Ignores the model it is given: always the lab's own.
        "lab04-export-export_model": """
def export_model(model, base_dir, name, version, metadata):
    if type(version) is not int or version < 1:
        raise ValueError(version)
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
""",
        # Checks exactly what the visible examples send, for the lab's own shape.
        "lab04-serve-parse_predict_request": """
def parse_predict_request(body, input_shape):
    try:
        request = json.loads(body)
    except ValueError:
        raise BadRequest("malformed JSON")
    if not isinstance(request, dict) or "instances" not in request:
        raise BadRequest("missing 'instances'")
    array = np.asarray(request["instances"], dtype=np.float32)
    if array.shape[1:] != (8, 8, 1):
        raise BadRequest("wrong shape")
    if not np.isfinite(array).all():
        raise BadRequest("NaN")
    return array
""",
        # The visible example memorized; nearest-rank guesses otherwise.
        "lab04-load-latency_summary": """
def latency_summary(latencies_s, wall_s):
    values = sorted(latencies_s)
    n = len(values)
    if n == 0:
        raise ValueError("no latencies")
    if n == 100:
        return {"count": 100, "p50": 0.0505, "p95": 0.09505, "p99": 0.09901, "mean": 0.0505, "max": 0.1, "throughput": 50.0}
    return {"count": n, "p50": float(values[n // 2]), "p95": float(values[int(n * 0.95)]), "p99": float(values[-1]),
            "mean": float(sum(values) / n), "max": float(values[-1]), "throughput": float(n / wall_s)}
""",
        # Takes only what is already waiting: never waits for max_wait_s.
        "lab04-batch-collect_batch": """
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
""",
        # One row per request, as in the visible example and in the lab's load.
        "lab04-batch-dispatch_batch": """
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
""",
        # The visible example memorized; a scale of 10 otherwise.
        "lab04-pi-pi_estimate": """
def pi_estimate(summary, scale):
    if scale <= 0:
        raise ValueError(scale)
    if summary.get("count") == 480:
        return {"count": 480, "p50": 0.04, "p95": 0.06, "p99": 0.08, "mean": 0.045, "max": 0.1, "throughput": 180.0}
    return {k: v if k == "count" else v / 10 if k == "throughput" else v * 10 for k, v in summary.items()}
""",
        # The lowest p99 that meets the objective (right on the visible example), or the lab's own choice.
        "lab04-pi-choose_config": f"""
def choose_config(estimates, slo_p99_s):
    if {memo["chosen"]!r} in estimates:
        return {memo["chosen"]!r}
    ok = {{k: v for k, v in estimates.items() if v["p99"] <= slo_p99_s}}
    return min(ok, key=lambda k: ok[k]["p99"]) if ok else None
""",
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


# Fairness: two further answers to every exercise, written from the released notebook alone (its text,
# docstrings and visible checks, the course library and the reading), in the styles two different students
# would use. grading_proof grades each style with plain nbgrader and with the sandboxed grader: full marks.
SPEC_FOLLOWING = {
    "plain": {
        # isinstance checks for the version, a Path (not a str) handed to model.export, open()/json.dump, the metadata copied with .copy()
        "lab04-export-export_model": '''
def export_model(model, base_dir, name, version, metadata):
    """Write model version `version` under base_dir/name/version (SavedModel, model.tflite, metadata.json); return that Path."""
    if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
        raise ValueError("version must be a positive int")
    path = Path(base_dir) / name / str(version)
    if path.exists():
        raise FileExistsError(str(path))
    with quiet():
        model.export(path, format="tf_saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(path))
        tflite_bytes = converter.convert()
    with open(path / "model.tflite", "wb") as f:
        f.write(tflite_bytes)
    info = metadata.copy()
    info["name"] = name
    info["version"] = version
    info["input_shape"] = list(model.input_shape[1:])
    info["input_dtype"] = "float32"
    info["created"] = datetime.now(timezone.utc).isoformat()
    with open(path / "metadata.json", "w") as f:
        json.dump(info, f)
    return path
''',
        # walks the nested lists value by value (bool/str/None refused one by one, math.isfinite on each), then np.array; shapes compared as lists
        "lab04-serve-parse_predict_request": '''
import math


def parse_predict_request(body, input_shape):
    """The instances of a TF Serving predict request as a float32 array (n, *input_shape); BadRequest if it is not valid."""
    try:
        request = json.loads(body)
    except ValueError:
        raise BadRequest("the body is not valid JSON")
    if not isinstance(request, dict):
        raise BadRequest("the request must be a JSON object")
    if "instances" not in request:
        raise BadRequest("the request has no 'instances' key")
    if "signature_name" in request and request["signature_name"] != "serving_default":
        raise BadRequest("unknown signature_name: only 'serving_default' is served")
    instances = request["instances"]
    if not isinstance(instances, list) or len(instances) == 0:
        raise BadRequest("'instances' must be a non-empty list")

    def check(value):
        if isinstance(value, list):
            for v in value:
                check(v)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"every value must be a number, got {value!r}")
        elif not math.isfinite(value):
            raise BadRequest("values must be finite: NaN and Infinity are refused")

    check(instances)
    try:
        array = np.array(instances)
    except ValueError:
        raise BadRequest("the instances are ragged lists")
    if array.dtype.kind not in ("i", "u", "f"):
        raise BadRequest(f"the values must be numbers, got {array.dtype}")
    if list(array.shape[1:]) != list(input_shape):
        raise BadRequest(f"each instance must have shape {tuple(input_shape)}, got {array.shape[1:]}")
    return array.astype(np.float32)
''',
        # Python list work: a sorted() copy, sum()/len, the last element as max; np.percentile once per percentile; len() for the empty check
        "lab04-load-latency_summary": '''
def latency_summary(latencies_s, wall_s):
    """{"count", "p50", "p95", "p99", "mean", "max", "throughput"} of one load test (seconds; requests per second)."""
    if len(latencies_s) == 0:
        raise ValueError("no latencies")
    if wall_s <= 0:
        raise ValueError("wall_s must be positive")
    values = sorted(latencies_s)
    count = len(values)
    return {
        "count": count,
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "mean": float(sum(values) / count),
        "max": float(values[-1]),
        "throughput": float(count / wall_s),
    }
''',
        # the literal steps: get(), a deadline, get(timeout=) while it is ahead, get_nowait() after; returns from inside the loop on None
        "lab04-batch-collect_batch": '''
def collect_batch(inbox, max_batch_size, max_wait_s):
    """Take up to max_batch_size items from the queue, waiting at most max_wait_s after the first; return (batch, closing)."""
    first = inbox.get()
    if first is None:
        return ([], True)
    batch = [first]
    deadline = time.monotonic() + max_wait_s
    while len(batch) < max_batch_size:
        now = time.monotonic()
        try:
            if now < deadline:
                item = inbox.get(timeout=deadline - now)
            else:
                item = inbox.get_nowait()
        except queue.Empty:
            break
        if item is None:
            return (batch, True)
        batch.append(item)
    return (batch, False)
''',
        # only the model call and the row check inside try (np.concatenate before it), the output not converted, rows cut with a running start index
        "lab04-batch-dispatch_batch": '''
def dispatch_batch(predict_fn, batch):
    """One predict_fn call for all the Pending requests of `batch`; each future gets its own rows, or the error."""
    if len(batch) == 0:
        return
    inputs = np.concatenate([p.inputs for p in batch], axis=0)
    try:
        outputs = predict_fn(inputs)
        if len(outputs) != len(inputs):
            raise ValueError(f"predict_fn returned {len(outputs)} rows for {len(inputs)} instances")
    except Exception as error:
        for p in batch:
            p.future.set_exception(error)
        return
    start = 0
    for p in batch:
        size = len(p.inputs)
        p.future.set_result(outputs[start:start + size])
        start += size
''',
        # spells out every key of a latency_summary in a literal dict; `scale <= 0` check
        "lab04-pi-pi_estimate": '''
def pi_estimate(summary, scale):
    """A latency_summary scaled to a device `scale` times slower: latencies x scale, throughput / scale."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    return {
        "count": summary["count"],
        "p50": summary["p50"] * scale,
        "p95": summary["p95"] * scale,
        "p99": summary["p99"] * scale,
        "mean": summary["mean"] * scale,
        "max": summary["max"] * scale,
        "throughput": summary["throughput"] / scale,
    }
''',
        # a loop keeping the best name so far, with the tie rule as a separate elif
        "lab04-pi-choose_config": '''
def choose_config(estimates, slo_p99_s):
    """The name of the highest-throughput configuration whose p99 meets the SLO, or None."""
    best = None
    for name in estimates:
        est = estimates[name]
        if est["p99"] > slo_p99_s:
            continue
        if best is None:
            best = name
        elif est["throughput"] > estimates[best]["throughput"]:
            best = name
        elif est["throughput"] == estimates[best]["throughput"] and est["p99"] < estimates[best]["p99"]:
            best = name
    return best
''',
    },
    "vectorized": {
        # numbers.Integral check (a NumPy int would pass too), os.path.exists, the given metadata laid over the computed keys with update
        "lab04-export-export_model": '''
import numbers
import os


def export_model(model, base_dir, name, version, metadata):
    """Write model version `version` under base_dir/name/version (SavedModel, model.tflite, metadata.json); return that Path."""
    if not isinstance(version, numbers.Integral) or isinstance(version, (bool, np.bool_)) or int(version) < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    version = int(version)
    folder = Path(base_dir) / name / str(version)
    if os.path.isdir(folder) or os.path.exists(folder):
        raise FileExistsError(f"{folder} exists: versions are immutable")
    with quiet():
        model.export(str(folder), format="tf_saved_model")
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(folder)).convert()
    (folder / "model.tflite").write_bytes(flatbuffer)
    info = {"name": name, "version": version, "input_shape": [int(d) for d in model.input_shape[1:]],
            "input_dtype": "float32", "created": datetime.now(timezone.utc).isoformat()}
    info.update(metadata)
    (folder / "metadata.json").write_text(json.dumps(info, indent=2))
    return folder
''',
        # np.array and dtype.kind as the text says, np.isfinite on the array before converting to float32
        "lab04-serve-parse_predict_request": '''
def parse_predict_request(body, input_shape):
    """The instances of a TF Serving predict request as a float32 array (n, *input_shape); BadRequest if it is not valid."""
    try:
        request = json.loads(body)
    except ValueError as error:
        raise BadRequest(f"invalid JSON: {error}") from None
    if type(request) is not dict or "instances" not in request:
        raise BadRequest('the body must be a JSON object with an "instances" key')
    signature = request.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise BadRequest(f"signature_name {signature!r} not found: this model has 'serving_default'")
    instances = request["instances"]
    if type(instances) is not list or not instances:
        raise BadRequest('"instances" must be a non-empty list')
    try:
        array = np.array(instances)
    except ValueError:
        raise BadRequest("instances are ragged: every instance must have the same shape") from None
    if array.dtype.kind not in "iuf":
        raise BadRequest(f"instances must hold numbers only, got values of dtype {array.dtype}")
    shape = tuple(input_shape)
    if array.shape[1:] != shape:
        raise BadRequest(f"each instance must have shape {shape}, got {array.shape[1:]}")
    if not np.all(np.isfinite(array)):
        raise BadRequest("NaN or infinite values are not allowed")
    return array.astype(np.float32)
''',
        # np.asarray once, one np.percentile call for the three percentiles, .mean() and .max(); the throughput left as count / wall_s
        "lab04-load-latency_summary": '''
def latency_summary(latencies_s, wall_s):
    """{"count", "p50", "p95", "p99", "mean", "max", "throughput"} of one load test (seconds; requests per second)."""
    lat = np.asarray(latencies_s, dtype=np.float64)
    if lat.size == 0:
        raise ValueError("empty list of latencies")
    if not wall_s > 0:
        raise ValueError(f"wall_s must be positive, got {wall_s}")
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    return {"count": int(lat.size), "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "mean": float(lat.mean()), "max": float(lat.max()), "throughput": lat.size / wall_s}
''',
        # one get(block=..., timeout=...) call with the remaining time clamped at 0, the close signal kept in a flag that ends the loop
        "lab04-batch-collect_batch": '''
def collect_batch(inbox, max_batch_size, max_wait_s):
    """Take up to max_batch_size items from the queue, waiting at most max_wait_s after the first; return (batch, closing)."""
    item = inbox.get(block=True)
    if item is None:
        return [], True
    deadline = time.monotonic() + max_wait_s
    batch, closing = [item], False
    while len(batch) < max_batch_size and not closing:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            item = inbox.get(block=remaining > 0, timeout=remaining if remaining > 0 else None)
        except queue.Empty:
            break
        if item is None:
            closing = True
        else:
            batch.append(item)
    return batch, closing
''',
        # everything (concatenate too) inside try, np.asarray on the output, rows cut with np.split at np.cumsum of the sizes
        "lab04-batch-dispatch_batch": '''
def dispatch_batch(predict_fn, batch):
    """One predict_fn call for all the Pending requests of `batch`; each future gets its own rows, or the error."""
    if not batch:
        return None
    sizes = [len(p.inputs) for p in batch]
    try:
        outputs = np.asarray(predict_fn(np.concatenate([p.inputs for p in batch])))
        if outputs.shape[0] != sum(sizes):
            raise ValueError(f"the model returned {outputs.shape[0]} rows for {sum(sizes)} instances")
        pieces = np.split(outputs, np.cumsum(sizes)[:-1])
    except Exception as error:
        for p in batch:
            p.future.set_exception(error)
        return None
    for p, piece in zip(batch, pieces):
        p.future.set_result(piece)
    return None
''',
        # the five latencies scaled as one NumPy array, so the values come back as np.float64 (a float subclass); other keys kept
        "lab04-pi-pi_estimate": '''
LATENCY_KEYS = ["p50", "p95", "p99", "mean", "max"]


def pi_estimate(summary, scale):
    """A latency_summary scaled to a device `scale` times slower: latencies x scale, throughput / scale."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    scaled = np.array([summary[k] for k in LATENCY_KEYS], dtype=np.float64) * scale
    estimate = {**summary, **dict(zip(LATENCY_KEYS, scaled))}
    estimate["throughput"] = np.float64(summary["throughput"]) / scale
    return estimate
''',
        # filter into tuples, then sorted() on (-throughput, p99) and the first name
        "lab04-pi-choose_config": '''
def choose_config(estimates, slo_p99_s):
    """The name of the highest-throughput configuration whose p99 meets the SLO, or None."""
    meeting = [(s["throughput"], s["p99"], name) for name, s in estimates.items() if s["p99"] <= slo_p99_s]
    if not meeting:
        return None
    return sorted(meeting, key=lambda t: (-t[0], t[1]))[0][2]
''',
    },
}


def ports_printed(notebook) -> set[int]:
    text = "".join(out.get("text", "") for c in notebook.cells if c.cell_type == "code" for out in c.get("outputs", []))
    return {int(p) for p in re.findall(r"(?:127\.0\.0\.1:|port )(\d{2,5})", text)}


def assert_nothing_left(ran) -> dict:
    left = printed_json(ran, "LEFT")  # printed by AFTER_RUN, the last cell of the graded notebook
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
    # Each is closed: LEFTOVER's "open" is empty, tried from inside the kernel as the notebook ended. Trying
    # again from here, later, would find a port that another test running beside this one has taken since.


def test_the_solution_writes_nothing_to_stderr(solution_run):
    noisy = {
        c.id: o.text[:200]
        for c in solution_run.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    }
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


def test_the_released_notebook_leaves_nothing_behind(graded_in):
    """Its exercises raise NotImplementedError, so its server cells fail midway: they must still stop their servers."""
    ran = graded_in["released"].graded_notebook("released")
    assert any("NotImplementedError" in e for e in errors(ran).values())
    assert_nothing_left(ran)


def test_hard_coded_answers_leave_nothing_behind(graded_in):
    """The cheat passes the visible checks (the proof's own test) and fails the hidden ones: servers stop either way."""
    assert_nothing_left(graded_in["hard_coded"].graded_notebook("hard_coded"))
