"""Lab 6 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Two kinds of cheat: *hard-coded* answers (values and branches for the visible
examples, or a misreading that the visible examples happen not to expose), and an
object whose ``__eq__`` always returns True. The solution must also show what the
issue asks of the lab: an all-reduce over real processes that equals a plain sum
and is measured over several sizes, a cost model fitted to it, tf.distribute
measured against one replica, accumulation that reaches the large batch's
weights, and training that survives a killed worker and ends where an
uninterrupted run does.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab06_train"

# Run after the solution to memorize its results on the lab's own data.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "ring_sizes": ring_sizes.tolist(),
    "ring_times": ring_times.tolist(),
    "messages": on_processes.messages,
    "pids": pids,
    "alpha": LOOPBACK_ALPHA,
    "beta": LOOPBACK_BETA,
    "fewest": fewest,
    "step_time": {str(n): t for n, (t, _) in step_time.items()},
    "losses": {str(n): l for n, (_, l) in step_time.items()},
    "accumulation_gap": gap,
    "fault_restarts": restarts,
    "fault_weight_gap": weight_gap,
    "faulty_ran": faulty_ran,
    "rings_left": len(cluster.running_rings()),
    "efficiency_nvlink_8": data_parallel_step(LLAMA8, 8192, 8, GPU, NVLINK, mfu=MFU)["efficiency"],
    "efficiency_ib_64": data_parallel_step(LLAMA8, 8192, 64, GPU, IB, mfu=MFU)["efficiency"],
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    return {
        # A misreading the visible checks do not expose: mixed-precision SGD without its fp32 master copy.
        "lab06-memory-training_memory": '''
def training_memory(n_params, optimizer, precision, batch_size, activation_bytes_per_sample, zero_stage=0, n_gpus=1):
    if precision not in ("fp32", "mixed") or optimizer not in ("sgd", "adam") or zero_stage not in (0, 1, 2, 3):
        raise ValueError("bad argument")
    wg = 4 if precision == "fp32" else 2
    opt = {"sgd": 4, "adam": 8 if precision == "fp32" else 12}[optimizer]
    m = {"weights": float(n_params * wg) / (n_gpus if zero_stage == 3 else 1),
         "gradients": float(n_params * wg) / (n_gpus if zero_stage >= 2 else 1),
         "optimizer": float(n_params * opt) / (n_gpus if zero_stage >= 1 else 1),
         "activations": float(batch_size * activation_bytes_per_sample)}
    m["total"] = float(sum(m.values()))
    return m
''',
        # Memorized results of the visible examples, with the right number of (tiny) messages.
        "lab06-ring-ring_allreduce": '''
def ring_allreduce(rank, world_size, data, send, recv):
    for _ in range(2 * (world_size - 1)):
        send(np.zeros(1, dtype=data.dtype))
        recv()
    if len(data) == 10:
        return np.arange(10) * 6.0
    if len(data) == 7:
        return np.full(7, 6.0)
    if len(data) == 1001:
        return np.sum([np.random.default_rng(r).normal(size=1001) for r in range(world_size)], axis=0)
    return np.array(data, copy=True)
''',
        # A line through the mean of the smallest and of the largest size: exact on the visible examples only.
        "lab06-model-fit_alpha_beta": '''
def fit_alpha_beta(sizes, times):
    x, y = np.asarray(sizes, dtype=float), np.asarray(times, dtype=float)
    lo, hi = x.min(), x.max()
    y_lo, y_hi = y[x == lo].mean(), y[x == hi].mean()
    beta = (y_hi - y_lo) / (hi - lo)
    return float(y_lo - beta * lo), float(beta)
''',
        # Right for the p of the visible examples (2, 4 and 8); forgets the 1/p of each message elsewhere.
        "lab06-model-allreduce_time": '''
def allreduce_time(n_bytes, p, link):
    if p == 1:
        return 0.0
    if p in (2, 4, 8):
        return float(2 * (p - 1) * (link.latency_s + n_bytes / p / link.bandwidth_bytes_per_s))
    return float(2 * (p - 1) * (link.latency_s + n_bytes / link.bandwidth_bytes_per_s))
''',
        # Ignores grad_bytes_per_param except in the visible example.
        "lab06-model-data_parallel_step": '''
def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    compute = 6.0 * n_params * tokens_per_gpu / (device.peak_fp16_ops_per_s * mfu)
    scale = 2.0 if n_params == 1e6 else 1.0
    comm = allreduce_time(2 * scale * n_params if grad_bytes_per_param == 4 else 2 * n_params, p, link)
    return {"compute_s": float(compute), "allreduce_s": float(comm), "step_s": float(compute + comm),
            "efficiency": float(compute / (compute + comm))}
''',
        # Weights the micro-batches by their size only for the visible batch of 100; a plain average elsewhere.
        "lab06-accumulate-accumulate_gradients": '''
def accumulate_gradients(model, loss_fn, x, y, micro_batch):
    parts = [(x[i:i + micro_batch], y[i:i + micro_batch]) for i in range(0, len(x), micro_batch)]
    weights = [len(xb) / len(x) for xb, _ in parts] if len(x) == 100 else [1 / len(parts)] * len(parts)
    grads, total = None, 0.0
    for (xb, yb), w in zip(parts, weights):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        g = tape.gradient(loss, model.trainable_variables)
        grads = [w * t for t in g] if grads is None else [a + w * t for a, t in zip(grads, g)]
        total += w * float(loss)
    return total, grads
''',
        # The visible schedule memorized; elsewhere it never restores and saves once at the end.
        "lab06-fault-resume_training": '''
def resume_training(checkpoint, manager, step_fn, total_steps, save_every):
    if total_steps == 10 and save_every == 4 or total_steps == 15:
        checkpoint.restore(manager.latest_checkpoint)
        start = int(checkpoint.step.numpy())
        for s in range(start, total_steps):
            step_fn(s)
            checkpoint.step.assign(s + 1)
            if (s + 1) % save_every == 0 or s + 1 == total_steps:
                manager.save(checkpoint_number=s + 1)
        return total_steps - start
    for s in range(total_steps):
        step_fn(s)
    checkpoint.step.assign(total_steps)
    manager.save(checkpoint_number=total_steps)
    return total_steps
''',
    }


FUNCTION_OF = {
    "lab06-memory-training_memory": "training_memory",
    "lab06-ring-ring_allreduce": "ring_allreduce",
    "lab06-model-fit_alpha_beta": "fit_alpha_beta",
    "lab06-model-allreduce_time": "allreduce_time",
    "lab06-model-data_parallel_step": "data_parallel_step",
    "lab06-accumulate-accumulate_gradients": "accumulate_gradients",
    "lab06-fault-resume_training": "resume_training",
}


# Two students who follow the released text, each in their own style (written from labs/lab06_train alone):
# "plain" walks the text's steps with if/elif chains, Python loops and explicit index arithmetic;
# "library" leans on dict tables, NumPy slicing into one output array, np.polyfit and tf.data.
SPEC_FOLLOWING = {
    "plain": {
        # if/elif on the table's rows, then one division per state
        "lab06-memory-training_memory": '''def training_memory(n_params, optimizer, precision, batch_size, activation_bytes_per_sample, zero_stage=0, n_gpus=1):
    if precision == "fp32":
        w = 4
        g = 4
        if optimizer == "sgd":
            o = 4
        elif optimizer == "adam":
            o = 8
        else:
            raise ValueError("unknown optimizer " + str(optimizer))
    elif precision == "mixed":
        w = 2
        g = 2
        if optimizer == "sgd":
            o = 4 + 4
        elif optimizer == "adam":
            o = 4 + 8
        else:
            raise ValueError("unknown optimizer " + str(optimizer))
    else:
        raise ValueError("unknown precision " + str(precision))
    if zero_stage < 0 or zero_stage > 3:
        raise ValueError("ZeRO stage must be 0..3")
    weights = n_params * w
    gradients = n_params * g
    opt_state = n_params * o
    if zero_stage >= 1:
        opt_state = opt_state / n_gpus
    if zero_stage >= 2:
        gradients = gradients / n_gpus
    if zero_stage == 3:
        weights = weights / n_gpus
    activations = batch_size * activation_bytes_per_sample
    result = {}
    result["weights"] = float(weights)
    result["gradients"] = float(gradients)
    result["optimizer"] = float(opt_state)
    result["activations"] = float(activations)
    result["total"] = float(weights + gradients + opt_state + activations)
    return result
''',
        # a list of chunks from np.array_split, the text's index formulas spelled out, received chunks added with +
        "lab06-ring-ring_allreduce": '''def ring_allreduce(rank, world_size, data, send, recv):
    p = world_size
    if p == 1:
        return data.copy()
    chunks = []
    for piece in np.array_split(data, p):
        chunks.append(piece.copy())
    for s in range(p - 1):
        outgoing = (rank - s) % p
        incoming = (rank - s - 1) % p
        send(chunks[outgoing])
        received = recv()
        chunks[incoming] = chunks[incoming] + received
    for s in range(p - 1):
        outgoing = (rank + 1 - s) % p
        incoming = (rank - s) % p
        send(chunks[outgoing])
        chunks[incoming] = recv()
    result = np.concatenate(chunks)
    return result
''',
        # the closed form of simple linear regression, with Python sums
        "lab06-model-fit_alpha_beta": '''def fit_alpha_beta(sizes, times):
    xs = [float(v) for v in sizes]
    ys = [float(v) for v in times]
    n = len(xs)
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxy = 0.0
    sxx = 0.0
    for xv, yv in zip(xs, ys):
        sxy += (xv - mean_x) * (yv - mean_y)
        sxx += (xv - mean_x) ** 2
    beta = sxy / sxx
    alpha = mean_y - beta * mean_x
    return (alpha, beta)
''',
        # named steps: alpha, beta, message size, number of messages
        "lab06-model-allreduce_time": '''def allreduce_time(n_bytes, p, link):
    if p == 1:
        return 0.0
    alpha = link.latency_s
    beta = 1.0 / link.bandwidth_bytes_per_s
    message = n_bytes / p
    messages = 2 * (p - 1)
    return float(messages * (alpha + message * beta))
''',
        # one variable per quantity, then the dict
        "lab06-model-data_parallel_step": '''def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    flops = 6 * n_params * tokens_per_gpu
    achieved = device.peak_fp16_ops_per_s * mfu
    compute = flops / achieved
    gradient_bytes = grad_bytes_per_param * n_params
    comm = allreduce_time(gradient_bytes, p, link)
    total = compute + comm
    efficiency = compute / total
    return {"compute_s": float(compute), "allreduce_s": float(comm), "step_s": float(total), "efficiency": float(efficiency)}
''',
        # a while loop over slices; gradients summed as NumPy arrays weighted by count / B
        "lab06-accumulate-accumulate_gradients": '''def accumulate_gradients(model, loss_fn, x, y, micro_batch):
    B = x.shape[0]
    summed = None
    loss_total = 0.0
    i = 0
    while i < B:
        xb = x[i:i + micro_batch]
        yb = y[i:i + micro_batch]
        weight = xb.shape[0] / B
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        if summed is None:
            summed = [weight * g.numpy() for g in grads]
        else:
            for k in range(len(summed)):
                summed[k] = summed[k] + weight * grads[k].numpy()
        loss_total += weight * float(loss.numpy())
        i += micro_batch
    return float(loss_total), summed
''',
        # a while loop that reads the counter from the checkpoint each time
        "lab06-fault-resume_training": '''def resume_training(checkpoint, manager, step_fn, total_steps, save_every):
    if manager.latest_checkpoint is not None:
        checkpoint.restore(manager.latest_checkpoint)
    ran = 0
    while int(checkpoint.step) < total_steps:
        step = int(checkpoint.step)
        step_fn(step)
        checkpoint.step.assign_add(1)
        ran += 1
        done = int(checkpoint.step)
        if done % save_every == 0 or done == total_steps:
            manager.save(checkpoint_number=done)
    return ran
''',
    },
    "library": {
        # a nested dict table and a divisor per state
        "lab06-memory-training_memory": '''BYTES = {
    "fp32": {"weights": 4, "gradients": 4, "sgd": 4, "adam": 8},
    "mixed": {"weights": 2, "gradients": 2, "sgd": 8, "adam": 12},
}


def training_memory(n_params, optimizer, precision, batch_size, activation_bytes_per_sample, zero_stage=0, n_gpus=1):
    if precision not in BYTES:
        raise ValueError(f"unknown precision {precision}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"unknown optimizer {optimizer}")
    if zero_stage not in range(4):
        raise ValueError(f"unknown ZeRO stage {zero_stage}")
    table = BYTES[precision]
    shard = lambda first_stage: n_gpus if zero_stage >= first_stage else 1
    out = {
        "weights": n_params * table["weights"] / shard(3),
        "gradients": n_params * table["gradients"] / shard(2),
        "optimizer": n_params * table[optimizer] / shard(1),
        "activations": batch_size * activation_bytes_per_sample * 1.0,
    }
    out["total"] = sum(out.values())
    return {key: float(value) for key, value in out.items()}
''',
        # one output array, chunk bounds from ceil division, slices of it sent and updated in place
        "lab06-ring-ring_allreduce": '''import math


def ring_allreduce(rank, world_size, data, send, recv):
    p = world_size
    out = np.array(data, copy=True)
    size = math.ceil(len(out) / p)
    bounds = [(min(i * size, len(out)), min((i + 1) * size, len(out))) for i in range(p)]

    def chunk(i):
        lo, hi = bounds[i % p]
        return out[lo:hi]

    for s in range(p - 1):
        send(chunk(rank - s))
        chunk(rank - s - 1)[:] += recv()
    for s in range(p - 1):
        send(chunk(rank + 1 - s))
        chunk(rank - s)[:] = recv()
    return out
''',
        # np.polyfit of degree 1, as the text names
        "lab06-model-fit_alpha_beta": '''def fit_alpha_beta(sizes, times):
    beta, alpha = np.polyfit(np.asarray(sizes, dtype=float), np.asarray(times, dtype=float), 1)
    return float(alpha), float(beta)
''',
        # the formula in one expression; 2(p - 1) = 0 covers one rank
        "lab06-model-allreduce_time": '''def allreduce_time(n_bytes, p, link):
    per_message = link.latency_s + (n_bytes / p) / link.bandwidth_bytes_per_s
    return float((p - 1) * 2 * per_message)
''',
        # a dict built then completed, efficiency as 1 / (1 + comm / compute)
        "lab06-model-data_parallel_step": '''def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    out = {"compute_s": 6.0 * n_params * tokens_per_gpu / device.peak_fp16_ops_per_s / mfu,
           "allreduce_s": allreduce_time(n_params * grad_bytes_per_param, p, link)}
    out["step_s"] = out["compute_s"] + out["allreduce_s"]
    out["efficiency"] = 1.0 / (1.0 + out["allreduce_s"] / out["compute_s"])
    return {k: float(v) for k, v in out.items()}
''',
        # tf.data batches the samples; sums of loss x count and gradient x count, divided by B at the end
        "lab06-accumulate-accumulate_gradients": '''def accumulate_gradients(model, loss_fn, x, y, micro_batch):
    total = tf.zeros([])
    sums = [tf.zeros_like(v) for v in model.trainable_variables]
    for xb, yb in tf.data.Dataset.from_tensor_slices((x, y)).batch(micro_batch):
        count = tf.cast(tf.shape(xb)[0], tf.float32)
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        sums = [s + count * g for s, g in zip(sums, grads)]
        total += count * loss
    n = float(len(x))
    return float(total / n), [s / n for s in sums]
''',
        # restore (None is a no-op), a for loop, and the checkpoint number taken from the step variable
        "lab06-fault-resume_training": '''def resume_training(checkpoint, manager, step_fn, total_steps, save_every):
    status = checkpoint.restore(manager.latest_checkpoint)
    first = int(checkpoint.step.numpy())
    for step in range(first, total_steps):
        step_fn(step)
        checkpoint.step.assign(step + 1)
        last = step == total_steps - 1
        if last or (step + 1) % save_every == 0:
            manager.save(checkpoint_number=checkpoint.step)
    return len(range(first, total_steps))
''',
    },
}


def test_the_solution_measures_what_the_issue_asks(memo):
    """Real processes, several sizes, a fitted model, tf.distribute against one replica, accumulation, a survived fault."""
    assert len(set(memo["pids"])) == 4 and memo["messages"] == [6, 6, 6, 6], "four real workers, 2(p-1) messages each"
    assert len(memo["ring_sizes"]) >= 5 and all(t > 0 for t in memo["ring_times"])
    assert memo["ring_times"][-1] > memo["ring_times"][0], "the largest message takes longer than the smallest"
    assert memo["beta"] > 0, "a positive time per byte"
    assert set(memo["step_time"]) == {"1", "2", "4"} and all(t > 0 for t in memo["step_time"].values())
    assert len({round(v, 4) for v in memo["losses"].values()}) == 1, "synchronous data parallelism: the same loss for any replica count"
    assert memo["fewest"]["Llama 3 8B"][0] is None and memo["fewest"]["Llama 3 8B"][3] is not None, \
        "the 8B model needs ZeRO (or more) on H100s"
    assert memo["accumulation_gap"] < 1e-4
    assert memo["fault_restarts"] == 1 and memo["fault_weight_gap"] < 1e-5 and memo["faulty_ran"][0] is None
    assert memo["rings_left"] == 0, "no worker outlives its block"
    assert 0 < memo["efficiency_ib_64"] < memo["efficiency_nvlink_8"] < 1
