"""Lab 7 is graded right by the real nbgrader: full marks for the solution, none for
the released notebook, and none for cheats that pass every visible self-check.

Hard-coded cheats here are the ones a student in a hurry writes: a cached decoder that
uses the lab's own constants instead of the weights it is given, byte counts branched
on the visible shapes, a roofline that forgets the compute bound, a simulator that
memorizes the hand-worked trace and treats static batching as continuous, and a
quantizer that only handles the first layer. The solution must also show what the
issue asks of the lab: the cache agrees with recomputation and is faster, the KV
budget and roofline numbers of the published shapes, a batch limit chosen for the
SLO, and INT8 weights that cost little held-out loss.
"""

from __future__ import annotations

from grading_proof import *  # noqa: F403 - the proof every lab owes: its fixtures and six tests

LAB = "lab07_llm_serve"

# Run after the solution to memorize its answers on the lab's own data.
MEMORIZE = """
import json
print("MEMO" + json.dumps({
    "plain": plain, "cached": cached,
    "rate_cache": rate[True], "rate_plain": rate[False],
    "kv_8b": kv_bytes_per_token(TARGET), "kv_limit": KV_LIMIT,
    "fits_70b_bf16": max_concurrent(llm.MODEL_SHAPES["llama3_70b"], DEVICE, 4096),
    "fits_70b_int8": max_concurrent(llm.MODEL_SHAPES["llama3_70b"], DEVICE, 4096, 1),
    "h100_rate": decode_tokens_per_s(DEVICE, TARGET),
    "measured": measured,
    "chosen": list(CHOSEN) if CHOSEN else None,
    "summary": {f"{p} {l}": s for (p, l), s in summary.items()},
    "loss_float": loss_float, "loss_int8": loss_int8, "size": size,
}))
"""


def hard_coded_answers(memo: dict) -> dict[str, str]:
    """Answers that reproduce the lab's visible results without computing them in general."""
    return {
        # The cached mode hard-codes the lab's model: N_HEADS heads, D_MODEL wide (the lab's weights only).
        "lab07-cache-generate": """
def generate(weights, prompt, n, use_cache):
    tokens = [int(t) for t in prompt]
    new = []
    if not use_cache:
        for _ in range(n):
            new.append(int(np.argmax(forward(weights, tokens)[-1])))
            tokens.append(new[-1])
        return new
    pos = positional(MAX_POSITIONS, D_MODEL)
    ks = [[] for _ in weights["layers"]]
    vs = [[] for _ in weights["layers"]]
    for i in range(len(tokens) + n - 1):
        x = weights["tok_emb"][[tokens[i]]] + pos[i:i + 1]
        for layer, k, v in zip(weights["layers"], ks, vs):
            h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
            k.append(h @ layer["wk"]); v.append(h @ layer["wv"])
            x = x + attend(h @ layer["wq"], np.vstack(k), np.vstack(v), N_HEADS) @ layer["wo"]
            x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
        if i >= len(tokens) - 1:
            logits = layer_norm(x[-1], weights["lnf_g"], weights["lnf_b"]) @ weights["w_out"] + weights["b_out"]
            new.append(int(np.argmax(logits)))
            if i + 1 == len(tokens):
                tokens.append(new[-1])
    return new
""",
        # Branches on the visible shapes.
        "lab07-memory-kv_bytes_per_token": f"""
def kv_bytes_per_token(shape, dtype_bytes=2):
    if shape.n_kv_heads == 32:
        return {4 * memo["kv_8b"]}
    return {memo["kv_8b"] // 2} * dtype_bytes
""",
        # The visible toy device memorized; elsewhere the context is not rounded up to whole blocks.
        "lab07-memory-max_concurrent": """
def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    if device.dram_bytes == 1000 * 2**20:
        return {(1, 2): 819, (16, 1): 914}.get((block_tokens, weight_bytes), 812)
    free = device.dram_bytes - shape.n_params * weight_bytes
    if free <= 0:
        return 0
    return int(free // (context_tokens * 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes))
""",
        # Memory-bound only; the visible compute-bound example memorized.
        "lab07-roofline-decode_tokens_per_s": """
def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    if batch == 1000:
        return 500.0
    read = shape.n_params * weight_bytes + batch * context_tokens * 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes
    return float(batch * device.memory_bandwidth_bytes_per_s / read)
""",
        # The hand-worked traces memorized; any other trace simulated as continuous batching, whatever the policy.
        "lab07-batching-simulate": """
def simulate(trace, policy, batch_limit, step_cost):
    if policy not in ("static", "continuous"):
        raise ValueError(policy)
    arrival = np.asarray(trace.arrival_s, dtype=float)
    if len(arrival) == 4:
        f = [5.0, 5, 10, 10] if policy == "continuous" else [4.0, 9, 9, 12]
        first = [2.0, 4, 9, 9] if policy == "continuous" else [2.0, 8, 8, 11]
        out = np.asarray(trace.output_tokens)
        return {"ttft": np.array(first) - arrival, "tpot": (np.array(f) - first) / (out - 1), "finish_s": np.array(f)}
    if len(arrival) == 2:
        return {"ttft": np.array([2.0, 2.0]), "tpot": np.array([2.0, 2.0]), "finish_s": np.array([4.0, 10.0])}
    n = len(arrival)
    out = np.asarray(trace.output_tokens)
    prompt = np.asarray(trace.prompt_tokens)
    first, finish, done = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, int)
    t, nxt, queue, running = 0.0, 0, [], []
    while np.isnan(finish).any():
        while nxt < n and arrival[nxt] <= t:
            queue.append(nxt); nxt += 1
        if not queue and not running:
            t = arrival[nxt]; continue
        new = []
        while queue and len(running) < batch_limit:
            new.append(queue.pop(0)); running.append(new[-1])
        t += step_cost(len(running), int(sum(prompt[i] for i in new)))
        for r in list(running):
            done[r] += 1
            if done[r] == 1:
                first[r] = t
            if done[r] == out[r]:
                finish[r] = t; running.remove(r)
    return {"ttft": first - arrival, "tpot": (finish - first) / (out - 1), "finish_s": finish}
""",
        # Per-channel, right, but only the first layer and the top level: the visible checks look nowhere else.
        "lab07-quantize-quantize_weights": """
def quantize_weights(weights):
    def q(w):
        if isinstance(w, np.ndarray) and w.ndim == 2:
            s = np.abs(w).max(axis=0) / 127
            s = np.where(s == 0, 1.0, s).astype(np.float32)
            return np.clip(np.round(w / s), -127, 127).astype(np.int8), s
        return w
    out = {k: q(v) for k, v in weights.items() if k != "layers"}
    out["layers"] = [{k: q(v) for k, v in weights["layers"][0].items()}] + [dict(l) for l in weights["layers"][1:]] if weights["layers"] else []
    return out
""",
    }


FUNCTION_OF = {
    "lab07-cache-generate": "generate",
    "lab07-memory-kv_bytes_per_token": "kv_bytes_per_token",
    "lab07-memory-max_concurrent": "max_concurrent",
    "lab07-roofline-decode_tokens_per_s": "decode_tokens_per_s",
    "lab07-batching-simulate": "simulate",
    "lab07-quantize-quantize_weights": "quantize_weights",
}


# Two students who solved the released notebook (labs/lab07_llm_serve) alone, without the solution, the hidden tests or
# this file, each in their own style: "numpy" leans on NumPy; "loops" writes plain Python loops and lists.
SPEC_FOLLOWING = {
    "numpy": {
        "lab07-cache-generate": '''
def generate(weights, prompt, n, use_cache):
    """Greedy decoding of n new tokens after `prompt`, recomputing everything (use_cache=False) or with a KV cache.

    weights: the model's dict of arrays; prompt: a non-empty list of ints or 1-D integer array;
    n: int >= 1; use_cache: bool (True must not call forward). Returns a list of n Python ints.
    """
    seq = [int(tok) for tok in np.asarray(prompt).reshape(-1)]
    n_prompt = len(seq)
    out = []
    if not use_cache:
        for _ in range(n):
            logits = forward(weights, np.array(seq))
            nxt = int(np.argmax(logits[-1]))
            out.append(nxt)
            seq.append(nxt)
        return out

    d = weights["tok_emb"].shape[1]
    n_heads = weights["n_heads"]
    total = n_prompt + n
    pos = positional(total, d)
    layers = weights["layers"]
    k_cache = [np.zeros((total, d)) for _ in layers]
    v_cache = [np.zeros((total, d)) for _ in layers]
    length = 0  # how many positions are cached so far

    def run(tokens):
        # Run the new tokens (at positions length .. length + m - 1) through the layers, extending the caches.
        nonlocal length
        tokens = np.asarray(tokens, dtype=np.int64)
        m = len(tokens)
        start, end = length, length + m
        x = weights["tok_emb"][tokens] + pos[start:end]
        for i, layer in enumerate(layers):
            h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
            k_cache[i][start:end] = h @ layer["wk"]
            v_cache[i][start:end] = h @ layer["wv"]
            a = attend(h @ layer["wq"], k_cache[i][:end], v_cache[i][:end], n_heads)
            x = x + a @ layer["wo"]
            x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
        length = end
        logits = layer_norm(x[-1:], weights["lnf_g"], weights["lnf_b"]) @ weights["w_out"] + weights["b_out"]
        return int(np.argmax(logits[-1]))

    nxt = run(seq)
    out.append(nxt)
    while len(out) < n:
        nxt = run([nxt])
        out.append(nxt)
    return out
''',
        "lab07-memory-kv_bytes_per_token": '''
def kv_bytes_per_token(shape, dtype_bytes=2):
    """Bytes of KV cache per token: keys and values, every layer, every KV head. Returns a Python int."""
    return int(2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * dtype_bytes)
''',
        "lab07-memory-max_concurrent": '''
def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    """How many conversations of `context_tokens` tokens fit in device.dram_bytes beside the weights. A Python int >= 0."""
    budget = device.dram_bytes - shape.n_params * weight_bytes
    if budget < 0:
        return 0
    blocks = math.ceil(context_tokens / block_tokens)
    per_conversation = blocks * block_tokens * kv_bytes_per_token(shape, kv_bytes)
    return max(0, int(budget // per_conversation))
''',
        "lab07-roofline-decode_tokens_per_s": '''
def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    """Roofline upper bound on decode tokens/s for `batch` sequences of `context_tokens` tokens. A Python float."""
    bytes_read = shape.n_params * weight_bytes + batch * context_tokens * kv_bytes_per_token(shape, kv_bytes)
    ops_per_seq = 2 * shape.n_params + 4 * shape.n_layers * shape.n_heads * shape.head_dim * context_tokens
    ops = batch * ops_per_seq
    step = max(ops / device.peak_fp16_ops_per_s, bytes_read / device.memory_bandwidth_bytes_per_s)
    return float(batch / step)
''',
        "lab07-batching-simulate": '''
def simulate(trace, policy, batch_limit, step_cost):
    """Simulate serving `trace` step by step with static or continuous batching.

    Returns {"ttft": ..., "tpot": ..., "finish_s": ...}, float64 arrays of shape (n,) in the trace's order.
    Raises ValueError for an unknown policy.
    """
    if policy not in ("static", "continuous"):
        raise ValueError(f"policy must be 'static' or 'continuous', got {policy!r}")
    arrival = np.asarray(trace.arrival_s, dtype=np.float64)
    prompts = np.asarray(trace.prompt_tokens)
    outputs = np.asarray(trace.output_tokens)
    n = len(arrival)
    first = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    emitted = np.zeros(n, dtype=np.int64)

    t = 0.0
    nxt = 0                 # next request not yet queued
    queue = deque()
    running = []            # unfinished requests that are running
    members = []            # static: the current batch, finished members included
    done = 0
    while done < n:
        # 1. queue the arrivals
        while nxt < n and arrival[nxt] <= t:
            queue.append(nxt)
            nxt += 1
        # 2. idle: jump to the next arrival
        if not running and not queue:
            t = float(arrival[nxt])
            continue
        # 3. admit
        admitted = []
        if policy == "continuous":
            while len(running) < batch_limit and queue:
                admitted.append(queue.popleft())
                running.append(admitted[-1])
            batch_size = len(running)
        else:
            if not running:
                members = []
                while len(members) < batch_limit and queue:
                    admitted.append(queue.popleft())
                    members.append(admitted[-1])
                running = list(members)
            batch_size = len(members)
        # 4. step
        prefill = int(sum(int(prompts[i]) for i in admitted))
        t += step_cost(batch_size, prefill)
        # 5. emit
        still = []
        for i in running:
            emitted[i] += 1
            if emitted[i] == 1:
                first[i] = t
            if emitted[i] >= outputs[i]:
                finish[i] = t
                done += 1
            else:
                still.append(i)
        running = still

    ttft = first - arrival
    tpot = (finish - first) / (outputs.astype(np.float64) - 1)
    return {"ttft": ttft.astype(np.float64), "tpot": tpot.astype(np.float64), "finish_s": finish.astype(np.float64)}
''',
        "lab07-quantize-quantize_weights": '''
def quantize_weights(weights):
    """INT8 symmetric per-column quantization of every 2-D array in `weights`: each becomes (q int8, scale float32 (cols,)).

    Returns a new dict of the same layout; the input is not modified.
    """
    def quantize(value):
        if not (isinstance(value, np.ndarray) and value.ndim == 2):
            return value
        w = value.astype(np.float64)
        absmax = np.abs(w).max(axis=0)
        scale = np.where(absmax > 0, absmax / 127, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale.astype(np.float64)), -127, 127).astype(np.int8)
        return (q, scale)

    out = {key: quantize(value) for key, value in weights.items() if key != "layers"}
    out["layers"] = [{key: quantize(value) for key, value in layer.items()} for layer in weights["layers"]]
    return out
''',
    },
    "loops": {
        "lab07-cache-generate": '''
def generate(weights, prompt, n, use_cache):
    """Greedy decoding of n new tokens after `prompt`, recomputing everything (use_cache=False) or with a KV cache.

    weights: the model's dict of arrays; prompt: a non-empty list of ints or 1-D integer array;
    n: int >= 1; use_cache: bool (True must not call forward). Returns a list of n Python ints.
    """
    tokens = [int(tok) for tok in prompt]
    new_tokens = []

    if not use_cache:
        for step in range(n):
            logits = forward(weights, tokens)
            next_token = int(np.argmax(logits[-1]))
            new_tokens.append(next_token)
            tokens.append(next_token)
        return new_tokens

    n_heads = weights["n_heads"]
    d = weights["tok_emb"].shape[1]
    pos_table = positional(len(tokens) + n, d)   # one row per position we may need

    def final_logits(x_last):
        # logits of the next token from the last position's hidden vector
        h = layer_norm(x_last, weights["lnf_g"], weights["lnf_b"])
        return h @ weights["w_out"] + weights["b_out"]

    # Prefill: the whole prompt once, keeping each layer's keys and values
    key_cache = []
    value_cache = []
    x = weights["tok_emb"][np.array(tokens)] + pos_table[:len(tokens)]
    for layer in weights["layers"]:
        h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
        q = h @ layer["wq"]
        k = h @ layer["wk"]
        v = h @ layer["wv"]
        key_cache.append(k)
        value_cache.append(v)
        x = x + attend(q, k, v, n_heads) @ layer["wo"]
        x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
    next_token = int(np.argmax(final_logits(x[-1:])[-1]))
    new_tokens.append(next_token)

    # Decode: one new token at a time, at its own position
    position = len(tokens)
    while len(new_tokens) < n:
        x = weights["tok_emb"][[next_token]] + pos_table[position:position + 1]    # shape (1, d)
        for i, layer in enumerate(weights["layers"]):
            h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
            q = h @ layer["wq"]
            k = h @ layer["wk"]
            v = h @ layer["wv"]
            key_cache[i] = np.concatenate([key_cache[i], k], axis=0)
            value_cache[i] = np.concatenate([value_cache[i], v], axis=0)
            x = x + attend(q, key_cache[i], value_cache[i], n_heads) @ layer["wo"]
            x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
        next_token = int(np.argmax(final_logits(x)[-1]))
        new_tokens.append(next_token)
        position += 1
    return new_tokens
''',
        "lab07-memory-kv_bytes_per_token": '''
def kv_bytes_per_token(shape, dtype_bytes=2):
    """Bytes of KV cache per token: keys and values, every layer, every KV head. Returns a Python int."""
    numbers_per_layer = 2 * shape.n_kv_heads * shape.head_dim     # one key and one value per KV head
    total = shape.n_layers * numbers_per_layer * dtype_bytes
    return int(round(total))
''',
        "lab07-memory-max_concurrent": '''
def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    """How many conversations of `context_tokens` tokens fit in device.dram_bytes beside the weights. A Python int >= 0."""
    weights_size = shape.n_params * weight_bytes
    budget = device.dram_bytes - weights_size
    if budget < 0:
        return 0
    blocks = math.ceil(context_tokens / block_tokens)
    per_conversation = blocks * block_tokens * kv_bytes_per_token(shape, kv_bytes)
    return int(budget // per_conversation)
''',
        "lab07-roofline-decode_tokens_per_s": '''
def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    """Roofline upper bound on decode tokens/s for `batch` sequences of `context_tokens` tokens. A Python float."""
    bytes_read = shape.n_params * weight_bytes + batch * context_tokens * kv_bytes_per_token(shape, kv_bytes)
    ops_per_sequence = 2 * shape.n_params + 4 * shape.n_layers * shape.n_heads * shape.head_dim * context_tokens
    ops = batch * ops_per_sequence
    compute_time = ops / device.peak_fp16_ops_per_s
    memory_time = bytes_read / device.memory_bandwidth_bytes_per_s
    step_time = max(compute_time, memory_time)
    return float(batch / step_time)
''',
        "lab07-batching-simulate": '''
def simulate(trace, policy, batch_limit, step_cost):
    """Simulate serving `trace` step by step with static or continuous batching.

    Returns {"ttft": ..., "tpot": ..., "finish_s": ...}, float64 arrays of shape (n,) in the trace's order.
    Raises ValueError for an unknown policy.
    """
    if policy not in ("static", "continuous"):
        raise ValueError(f"unknown policy {policy!r}: use 'static' or 'continuous'")

    arrivals = [float(a) for a in trace.arrival_s]
    prompts = [int(p) for p in trace.prompt_tokens]
    outputs = [int(o) for o in trace.output_tokens]
    n = len(arrivals)

    emitted = [0] * n
    first_time = [0.0] * n
    finish_time = [0.0] * n

    t = 0.0
    next_arrival = 0          # index of the next request not queued yet
    waiting = deque()
    running = []              # requests running and not finished
    batch_members = []        # static only: the current batch, finished members included
    n_finished = 0

    while n_finished < n:
        # 1. queue everything that has arrived
        while next_arrival < n and arrivals[next_arrival] <= t:
            waiting.append(next_arrival)
            next_arrival += 1

        # 2. idle: jump to the next arrival
        if len(running) == 0 and len(waiting) == 0:
            t = arrivals[next_arrival]
            continue

        # 3. admit
        admitted = []
        if policy == "continuous":
            while len(running) < batch_limit and len(waiting) > 0:
                i = waiting.popleft()
                running.append(i)
                admitted.append(i)
            batch_size = len(running)
        else:
            if len(running) == 0:
                batch_members = []
                while len(batch_members) < batch_limit and len(waiting) > 0:
                    i = waiting.popleft()
                    batch_members.append(i)
                    running.append(i)
                    admitted.append(i)
            batch_size = len(batch_members)

        prefill_tokens = 0
        for i in admitted:
            prefill_tokens += prompts[i]

        # 4. step
        t += step_cost(batch_size, prefill_tokens)

        # 5. emit one token for every running request
        still_running = []
        for i in running:
            emitted[i] += 1
            if emitted[i] == 1:
                first_time[i] = t
            if emitted[i] >= outputs[i]:
                finish_time[i] = t
                n_finished += 1
            else:
                still_running.append(i)
        running = still_running

    ttft = []
    tpot = []
    for i in range(n):
        ttft.append(first_time[i] - arrivals[i])
        tpot.append((finish_time[i] - first_time[i]) / (outputs[i] - 1))
    return {"ttft": np.array(ttft, dtype=np.float64),
            "tpot": np.array(tpot, dtype=np.float64),
            "finish_s": np.array(finish_time, dtype=np.float64)}
''',
        "lab07-quantize-quantize_weights": '''
def quantize_weights(weights):
    """INT8 symmetric per-column quantization of every 2-D array in `weights`: each becomes (q int8, scale float32 (cols,)).

    Returns a new dict of the same layout; the input is not modified.
    """
    def quantize_matrix(w):
        rows, cols = w.shape
        q = np.zeros((rows, cols), dtype=np.int8)
        scales = np.zeros(cols, dtype=np.float32)
        for j in range(cols):
            column = w[:, j]
            largest = 0.0
            for value in column:
                if abs(value) > largest:
                    largest = abs(float(value))
            scale = largest / 127 if largest > 0 else 1.0
            scales[j] = scale
            q[:, j] = np.clip(np.round(column / scale), -127, 127).astype(np.int8)
        return (q, scales)

    def convert(value):
        if isinstance(value, np.ndarray) and value.ndim == 2:
            return quantize_matrix(value)
        return value

    new_weights = {}
    for key, value in weights.items():
        if key == "layers":
            new_layers = []
            for layer in value:
                new_layer = {}
                for name, array in layer.items():
                    new_layer[name] = convert(array)
                new_layers.append(new_layer)
            new_weights["layers"] = new_layers
        else:
            new_weights[key] = convert(value)
    return new_weights
''',
    },
}


def test_the_solution_measures_what_the_issue_asks(memo):
    """The cache agrees and is faster; the published shapes' memory and roofline; an SLO choice; cheap INT8."""
    assert memo["cached"] == memo["plain"], "the cache must not change the tokens"
    assert memo["rate_cache"][-1] > 2 * memo["rate_plain"][-1], "at the longest length the cache is clearly faster"
    assert memo["rate_plain"][-1] < memo["rate_plain"][0], "recomputation slows down as the sequence grows"
    assert memo["kv_8b"] == 131072 and 100 <= memo["kv_limit"] <= 140
    assert memo["fits_70b_bf16"] == 0 and memo["fits_70b_int8"] > 0
    assert 200 < memo["h100_rate"] < 215
    assert memo["measured"]["prefill"][0] > memo["measured"]["decode"][0], "prefill has the higher intensity"
    assert memo["chosen"] is not None and memo["chosen"][0] == "continuous"
    for limit in (16, 64):
        s, c = memo["summary"][f"static {limit}"], memo["summary"][f"continuous {limit}"]
        assert c["throughput"] >= s["throughput"] and c["ttft_99"] <= s["ttft_99"]
    assert abs(memo["loss_int8"] - memo["loss_float"]) < 0.05
    assert memo["size"]["INT8"] < 0.3 * memo["size"]["float32"]
