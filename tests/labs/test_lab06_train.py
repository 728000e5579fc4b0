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
        "lab06-memory-training_memory": """
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
""",
        # Memorized results of the visible examples, with the right number of (tiny) messages.
        "lab06-ring-ring_allreduce": """
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
""",
        # A line through the mean of the smallest and of the largest size: exact on the visible examples only.
        "lab06-model-fit_alpha_beta": """
def fit_alpha_beta(sizes, times):
    x, y = np.asarray(sizes, dtype=float), np.asarray(times, dtype=float)
    lo, hi = x.min(), x.max()
    y_lo, y_hi = y[x == lo].mean(), y[x == hi].mean()
    beta = (y_hi - y_lo) / (hi - lo)
    return float(y_lo - beta * lo), float(beta)
""",
        # Right for the p of the visible examples (2, 4 and 8); forgets the 1/p of each message elsewhere.
        "lab06-model-allreduce_time": """
def allreduce_time(n_bytes, p, link):
    if p == 1:
        return 0.0
    if p in (2, 4, 8):
        return float(2 * (p - 1) * (link.latency_s + n_bytes / p / link.bandwidth_bytes_per_s))
    return float(2 * (p - 1) * (link.latency_s + n_bytes / link.bandwidth_bytes_per_s))
""",
        # Ignores grad_bytes_per_param except in the visible example.
        "lab06-model-data_parallel_step": """
def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    compute = 6.0 * n_params * tokens_per_gpu / (device.peak_fp16_ops_per_s * mfu)
    scale = 2.0 if n_params == 1e6 else 1.0
    comm = allreduce_time(2 * scale * n_params if grad_bytes_per_param == 4 else 2 * n_params, p, link)
    return {"compute_s": float(compute), "allreduce_s": float(comm), "step_s": float(compute + comm),
            "efficiency": float(compute / (compute + comm))}
""",
        # Weights the micro-batches by their size only for the visible batch of 100; a plain average elsewhere.
        "lab06-accumulate-accumulate_gradients": """
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
""",
        # The visible schedule memorized; elsewhere it never restores and saves once at the end.
        "lab06-fault-resume_training": """
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
""",
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


# Two students who solved the released notebook (labs/lab06_train) alone, without the solution, the hidden tests or
# this file, each in their own style: "numpy" leans on NumPy; "loops" writes plain Python loops and lists.
SPEC_FOLLOWING = {
    "numpy": {
        "lab06-memory-training_memory": '''
def training_memory(n_params, optimizer, precision, batch_size, activation_bytes_per_sample, zero_stage=0, n_gpus=1):
    """Bytes one GPU holds to train a model of `n_params` parameters: weights, gradients, optimizer state, activations.

    optimizer: "sgd" (with momentum) or "adam"; precision: "fp32" or "mixed"; batch_size: the micro-batch per GPU;
    zero_stage: 0-3, sharding optimizer state (>= 1), gradients (>= 2) and weights (3) over n_gpus.
    Returns a dict of Python floats with keys "weights", "gradients", "optimizer", "activations", "total".
    Raises ValueError for an unknown optimizer, precision or ZeRO stage.
    """
    per_param = {
        # precision: (weights, gradients, {optimizer: state bytes})
        "fp32": (4, 4, {"sgd": 4, "adam": 8}),
        "mixed": (2, 2, {"sgd": 4 + 4, "adam": 4 + 8}),
    }
    if precision not in per_param:
        raise ValueError(f"unknown precision {precision!r}: use 'fp32' or 'mixed'")
    w_bytes, g_bytes, opt_table = per_param[precision]
    if optimizer not in opt_table:
        raise ValueError(f"unknown optimizer {optimizer!r}: use 'sgd' or 'adam'")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r}")

    weights = float(n_params) * w_bytes
    gradients = float(n_params) * g_bytes
    opt_state = float(n_params) * opt_table[optimizer]
    if zero_stage >= 1:
        opt_state /= n_gpus
    if zero_stage >= 2:
        gradients /= n_gpus
    if zero_stage >= 3:
        weights /= n_gpus
    activations = float(batch_size) * float(activation_bytes_per_sample)
    total = weights + gradients + opt_state + activations
    return {"weights": float(weights), "gradients": float(gradients), "optimizer": float(opt_state),
            "activations": float(activations), "total": float(total)}
''',
        "lab06-ring-ring_allreduce": '''
def ring_allreduce(rank, world_size, data, send, recv):
    """Rank `rank`'s side of a ring all-reduce: reduce-scatter, then all-gather. Returns the sum over all ranks.

    data: a 1-D float32 or float64 NumPy array of the same length n >= world_size on every rank (left unchanged).
    send(array) sends to rank (rank + 1) % world_size; recv() returns the next array from rank (rank - 1) % world_size.
    Sends exactly 2 * (world_size - 1) messages, one chunk each. Returns a 1-D NumPy array of shape (n,).
    """
    p = world_size
    if p == 1:
        return np.array(data, copy=True)
    # our own copies of the chunks, so `data` is never modified
    chunks = [np.array(c, dtype=data.dtype, copy=True) for c in np.array_split(data, p)]
    # 1. reduce-scatter
    for s in range(p - 1):
        send(chunks[(rank - s) % p])
        incoming = recv()
        i = (rank - s - 1) % p
        chunks[i] = chunks[i] + np.asarray(incoming, dtype=data.dtype)
    # 2. all-gather
    for s in range(p - 1):
        send(chunks[(rank + 1 - s) % p])
        incoming = recv()
        chunks[(rank - s) % p] = np.array(incoming, dtype=data.dtype, copy=True)
    return np.concatenate(chunks)
''',
        "lab06-model-fit_alpha_beta": '''
def fit_alpha_beta(sizes, times):
    """Least-squares fit of times ~ alpha + beta * sizes. Returns (alpha, beta) as Python floats.

    sizes, times: 1-D NumPy arrays or lists of floats of the same length, with at least two different sizes.
    """
    x = np.asarray(sizes, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    design = np.column_stack([np.ones_like(x), x])
    (alpha, beta), *_ = np.linalg.lstsq(design, t, rcond=None)
    return float(alpha), float(beta)
''',
        "lab06-model-allreduce_time": '''
def allreduce_time(n_bytes, p, link):
    """Seconds for a ring all-reduce of n_bytes per rank on p ranks over `link` (alpha-beta model)."""
    if p == 1:
        return 0.0
    alpha = float(link.latency_s)
    beta = 1.0 / float(link.bandwidth_bytes_per_s)
    return float(2 * (p - 1) * (alpha + float(n_bytes) / p * beta))
''',
        "lab06-model-data_parallel_step": '''
def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    """Compute, all-reduce and total seconds of one data-parallel step on p devices, and the scaling efficiency.

    Returns a dict of Python floats with keys "compute_s", "allreduce_s", "step_s", "efficiency".
    """
    compute_s = 6.0 * float(n_params) * float(tokens_per_gpu) / (float(device.peak_fp16_ops_per_s) * float(mfu))
    allreduce_s = allreduce_time(float(grad_bytes_per_param) * float(n_params), p, link)
    step_s = compute_s + allreduce_s
    return {"compute_s": float(compute_s), "allreduce_s": float(allreduce_s), "step_s": float(step_s),
            "efficiency": float(compute_s / step_s)}
''',
        "lab06-accumulate-accumulate_gradients": '''
def accumulate_gradients(model, loss_fn, x, y, micro_batch):
    """The mean loss and its gradients over (x, y), computed micro_batch samples at a time.

    Returns (loss, gradients): a Python float, and one tensor per model.trainable_variables, in their order.
    """
    variables = model.trainable_variables
    total = len(x)
    sum_loss = 0.0
    sum_grads = [tf.zeros(v.shape, dtype=v.dtype) for v in variables]
    for start in range(0, total, micro_batch):
        xm, ym = x[start:start + micro_batch], y[start:start + micro_batch]
        weight = len(xm) / total
        with tf.GradientTape() as tape:
            loss = loss_fn(ym, model(xm, training=True))
        grads = tape.gradient(loss, variables)
        sum_loss += weight * float(loss)
        sum_grads = [acc + tf.cast(weight, acc.dtype) * (tf.zeros_like(acc) if g is None else tf.convert_to_tensor(g))
                     for acc, g in zip(sum_grads, grads)]
    return float(sum_loss), list(sum_grads)
''',
        "lab06-fault-resume_training": '''
def resume_training(checkpoint, manager, step_fn, total_steps, save_every):
    """Restore the latest checkpoint, run the remaining steps up to total_steps, saving every save_every steps.

    Returns the number of steps run by this call (a Python int). Exceptions from step_fn propagate.
    """
    latest = manager.latest_checkpoint
    if latest is not None:
        checkpoint.restore(latest)
    first = int(checkpoint.step.numpy())
    ran = 0
    for step in range(first, total_steps):
        step_fn(step)                       # an exception leaves checkpoint.step and the saves untouched
        checkpoint.step.assign_add(1)
        ran += 1
        done = step + 1
        if done % save_every == 0 or done == total_steps:
            manager.save(checkpoint_number=done)
    return ran
''',
    },
    "loops": {
        "lab06-memory-training_memory": '''
def training_memory(n_params, optimizer, precision, batch_size, activation_bytes_per_sample, zero_stage=0, n_gpus=1):
    """Bytes one GPU holds to train a model of `n_params` parameters: weights, gradients, optimizer state, activations.

    optimizer: "sgd" (with momentum) or "adam"; precision: "fp32" or "mixed"; batch_size: the micro-batch per GPU;
    zero_stage: 0-3, sharding optimizer state (>= 1), gradients (>= 2) and weights (3) over n_gpus.
    Returns a dict of Python floats with keys "weights", "gradients", "optimizer", "activations", "total".
    Raises ValueError for an unknown optimizer, precision or ZeRO stage.
    """
    # bytes per parameter: (weights, gradients) for each precision
    per_param = {"fp32": (4, 4), "mixed": (2, 2)}
    # optimizer state bytes per parameter, for each (precision, optimizer)
    opt_bytes = {
        ("fp32", "sgd"): 4,        # velocity
        ("fp32", "adam"): 8,       # two moments
        ("mixed", "sgd"): 4 + 4,   # fp32 master weights + velocity
        ("mixed", "adam"): 4 + 8,  # fp32 master weights + two moments
    }
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"unknown optimizer {optimizer!r}: use 'sgd' or 'adam'")
    if precision not in per_param:
        raise ValueError(f"unknown precision {precision!r}: use 'fp32' or 'mixed'")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r}")

    w_bytes, g_bytes = per_param[precision]
    o_bytes = opt_bytes[(precision, optimizer)]

    weights = float(n_params) * w_bytes
    gradients = float(n_params) * g_bytes
    opt_state = float(n_params) * o_bytes

    # ZeRO: each GPU keeps only 1/n_gpus of the sharded states
    if zero_stage >= 1:
        opt_state = opt_state / n_gpus
    if zero_stage >= 2:
        gradients = gradients / n_gpus
    if zero_stage >= 3:
        weights = weights / n_gpus

    activations = float(batch_size) * float(activation_bytes_per_sample)
    total = weights + gradients + opt_state + activations
    return {
        "weights": float(weights),
        "gradients": float(gradients),
        "optimizer": float(opt_state),
        "activations": float(activations),
        "total": float(total),
    }
''',
        "lab06-ring-ring_allreduce": '''
def ring_allreduce(rank, world_size, data, send, recv):
    """Rank `rank`'s side of a ring all-reduce: reduce-scatter, then all-gather. Returns the sum over all ranks.

    data: a 1-D float32 or float64 NumPy array of the same length n >= world_size on every rank (left unchanged).
    send(array) sends to rank (rank + 1) % world_size; recv() returns the next array from rank (rank - 1) % world_size.
    Sends exactly 2 * (world_size - 1) messages, one chunk each. Returns a 1-D NumPy array of shape (n,).
    """
    p = world_size
    # my own copies of the p chunks, so that `data` stays as it was
    chunks = []
    for piece in np.array_split(data, p):
        chunks.append(piece.copy())

    # 1. reduce-scatter
    for s in range(p - 1):
        send_idx = (rank - s) % p
        recv_idx = (rank - s - 1) % p
        send(chunks[send_idx])
        incoming = recv()
        chunks[recv_idx] = chunks[recv_idx] + incoming

    # 2. all-gather
    for s in range(p - 1):
        send_idx = (rank + 1 - s) % p
        recv_idx = (rank - s) % p
        send(chunks[send_idx])
        incoming = recv()
        chunks[recv_idx] = np.array(incoming, dtype=data.dtype, copy=True)

    return np.concatenate(chunks)
''',
        "lab06-model-fit_alpha_beta": '''
def fit_alpha_beta(sizes, times):
    """Least-squares fit of times ~ alpha + beta * sizes. Returns (alpha, beta) as Python floats.

    sizes, times: 1-D NumPy arrays or lists of floats of the same length, with at least two different sizes.
    """
    xs = [float(v) for v in sizes]
    ys = [float(v) for v in times]
    count = len(xs)
    mean_x = sum(xs) / count
    mean_y = sum(ys) / count
    # slope = sum((x - mx)(y - my)) / sum((x - mx)^2), centred for numerical stability
    top = 0.0
    bottom = 0.0
    for x, y in zip(xs, ys):
        top += (x - mean_x) * (y - mean_y)
        bottom += (x - mean_x) ** 2
    beta = top / bottom
    alpha = mean_y - beta * mean_x
    return (float(alpha), float(beta))
''',
        "lab06-model-allreduce_time": '''
def allreduce_time(n_bytes, p, link):
    """Seconds for a ring all-reduce of n_bytes per rank on p ranks over `link` (alpha-beta model)."""
    if p == 1:
        return 0.0
    alpha = link.latency_s
    beta = 1.0 / link.bandwidth_bytes_per_s
    n_messages = 2 * (p - 1)
    message_bytes = n_bytes / p
    return float(n_messages * (alpha + message_bytes * beta))
''',
        "lab06-model-data_parallel_step": '''
def data_parallel_step(n_params, tokens_per_gpu, p, device, link, grad_bytes_per_param=2, mfu=1.0):
    """Compute, all-reduce and total seconds of one data-parallel step on p devices, and the scaling efficiency.

    Returns a dict of Python floats with keys "compute_s", "allreduce_s", "step_s", "efficiency".
    """
    flops = 6 * n_params * tokens_per_gpu
    compute_s = flops / (device.peak_fp16_ops_per_s * mfu)
    grad_bytes = grad_bytes_per_param * n_params
    allreduce_s = allreduce_time(grad_bytes, p, link)
    step_s = compute_s + allreduce_s
    efficiency = compute_s / step_s
    return {
        "compute_s": float(compute_s),
        "allreduce_s": float(allreduce_s),
        "step_s": float(step_s),
        "efficiency": float(efficiency),
    }
''',
        "lab06-accumulate-accumulate_gradients": '''
def accumulate_gradients(model, loss_fn, x, y, micro_batch):
    """The mean loss and its gradients over (x, y), computed micro_batch samples at a time.

    Returns (loss, gradients): a Python float, and one tensor per model.trainable_variables, in their order.
    """
    total = len(x)
    variables = model.trainable_variables
    summed_grads = [None] * len(variables)
    summed_loss = 0.0

    start = 0
    while start < total:
        stop = min(start + micro_batch, total)
        x_micro = x[start:stop]
        y_micro = y[start:stop]
        weight = (stop - start) / total          # m_i / B

        with tf.GradientTape() as tape:
            loss = loss_fn(y_micro, model(x_micro, training=True))
        grads = tape.gradient(loss, variables)

        summed_loss += weight * float(loss)
        for i in range(len(grads)):
            part = weight * grads[i]
            if summed_grads[i] is None:
                summed_grads[i] = part
            else:
                summed_grads[i] = summed_grads[i] + part
        start = stop

    return float(summed_loss), list(summed_grads)
''',
        "lab06-fault-resume_training": '''
def resume_training(checkpoint, manager, step_fn, total_steps, save_every):
    """Restore the latest checkpoint, run the remaining steps up to total_steps, saving every save_every steps.

    Returns the number of steps run by this call (a Python int). Exceptions from step_fn propagate.
    """
    latest = manager.latest_checkpoint
    if latest is not None:
        checkpoint.restore(latest)

    first = int(checkpoint.step.numpy())
    ran = 0
    for step in range(first, total_steps):
        step_fn(step)                      # an exception here propagates before anything is saved
        checkpoint.step.assign_add(1)
        ran += 1
        done = step + 1
        if done % save_every == 0 or done == total_steps:
            manager.save(checkpoint_number=done)
    return ran
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
    assert len({round(v, 4) for v in memo["losses"].values()}) == 1, (
        "synchronous data parallelism: the same loss for any replica count"
    )
    assert memo["fewest"]["Llama 3 8B"][0] is None and memo["fewest"]["Llama 3 8B"][3] is not None, (
        "the 8B model needs ZeRO (or more) on H100s"
    )
    assert memo["accumulation_gap"] < 1e-4
    assert memo["fault_restarts"] == 1 and memo["fault_weight_gap"] < 1e-5 and memo["faulty_ran"][0] is None
    assert memo["rings_left"] == 0, "no worker outlives its block"
    assert 0 < memo["efficiency_ib_64"] < memo["efficiency_nvlink_8"] < 1
