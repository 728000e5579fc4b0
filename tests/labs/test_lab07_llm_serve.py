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
        "lab07-cache-generate": '''
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
''',
        # Branches on the visible shapes.
        "lab07-memory-kv_bytes_per_token": f'''
def kv_bytes_per_token(shape, dtype_bytes=2):
    if shape.n_kv_heads == 32:
        return {4 * memo["kv_8b"]}
    return {memo["kv_8b"] // 2} * dtype_bytes
''',
        # The visible toy device memorized; elsewhere the context is not rounded up to whole blocks.
        "lab07-memory-max_concurrent": '''
def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    if device.dram_bytes == 1000 * 2**20:
        return {(1, 2): 819, (16, 1): 914}.get((block_tokens, weight_bytes), 812)
    free = device.dram_bytes - shape.n_params * weight_bytes
    if free <= 0:
        return 0
    return int(free // (context_tokens * 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes))
''',
        # Memory-bound only; the visible compute-bound example memorized.
        "lab07-roofline-decode_tokens_per_s": '''
def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    if batch == 1000:
        return 500.0
    read = shape.n_params * weight_bytes + batch * context_tokens * 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes
    return float(batch * device.memory_bandwidth_bytes_per_s / read)
''',
        # The hand-worked traces memorized; any other trace simulated as continuous batching, whatever the policy.
        "lab07-batching-simulate": '''
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
''',
        # Per-channel, right, but only the first layer and the top level: the visible checks look nowhere else.
        "lab07-quantize-quantize_weights": '''
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
''',
    }


FUNCTION_OF = {
    "lab07-cache-generate": "generate",
    "lab07-memory-kv_bytes_per_token": "kv_bytes_per_token",
    "lab07-memory-max_concurrent": "max_concurrent",
    "lab07-roofline-decode_tokens_per_s": "decode_tokens_per_s",
    "lab07-batching-simulate": "simulate",
    "lab07-quantize-quantize_weights": "quantize_weights",
}


# Two students who follow the released text, each in their own style (written from labs/lab07_llm_serve alone):
# "plain" walks the steps with Python loops and lists (its cache prefills the prompt one token at a time);
# "vectorized" preallocates NumPy arrays and uses NumPy calls (np.prod, np.ceil, np.maximum, np.rint ...).
SPEC_FOLLOWING = {
    "plain": {
        # a list of key rows and value rows per layer; the prompt goes through the cache one token at a time
        "lab07-cache-generate": '''def generate(weights, prompt, n, use_cache):
    seq = []
    for t in prompt:
        seq.append(int(t))
    result = []
    if use_cache == False:
        while len(result) < n:
            logits = forward(weights, seq)
            nxt = int(np.argmax(logits[len(seq) - 1]))
            seq.append(nxt)
            result.append(nxt)
        return result
    d = weights["tok_emb"].shape[1]
    pos_table = positional(len(seq) + n, d)
    keys = []
    values = []
    for _ in weights["layers"]:
        keys.append([])
        values.append([])

    def one_token(token, p):
        x = weights["tok_emb"][token].reshape(1, d) + pos_table[p].reshape(1, d)
        for i in range(len(weights["layers"])):
            layer = weights["layers"][i]
            h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
            keys[i].append((h @ layer["wk"])[0])
            values[i].append((h @ layer["wv"])[0])
            a = attend(h @ layer["wq"], np.array(keys[i]), np.array(values[i]), weights["n_heads"])
            x = x + a @ layer["wo"]
            x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
        out = layer_norm(x, weights["lnf_g"], weights["lnf_b"]) @ weights["w_out"] + weights["b_out"]
        return out[0]

    logits = None
    for p in range(len(seq)):
        logits = one_token(seq[p], p)
    for k in range(n):
        nxt = int(np.argmax(logits))
        result.append(nxt)
        seq.append(nxt)
        if k + 1 < n:
            logits = one_token(nxt, len(seq) - 1)
    return result
''',
        # the product written out, factor by factor
        "lab07-memory-kv_bytes_per_token": '''def kv_bytes_per_token(shape, dtype_bytes=2):
    per_layer = 2 * shape.n_kv_heads * shape.head_dim * dtype_bytes   # a key and a value per KV head
    return int(per_layer * shape.n_layers)
''',
        # integer ceiling by negated floor division, the literal steps
        "lab07-memory-max_concurrent": '''def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    weights_size = shape.n_params * weight_bytes
    left = device.dram_bytes - weights_size
    if left <= 0:
        return 0
    blocks = -(-context_tokens // block_tokens)
    one_token = 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes
    one_conversation = blocks * block_tokens * one_token
    count = 0
    count = int(left // one_conversation)
    return count
''',
        # two times compared with an if
        "lab07-roofline-decode_tokens_per_s": '''def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    kv_token = kv_bytes_per_token(shape, kv_bytes)
    total_bytes = shape.n_params * weight_bytes + batch * context_tokens * kv_token
    per_sequence_ops = 2 * shape.n_params + 4 * shape.n_layers * shape.n_heads * shape.head_dim * context_tokens
    total_ops = per_sequence_ops * batch
    compute_time = total_ops / device.peak_fp16_ops_per_s
    memory_time = total_bytes / device.memory_bandwidth_bytes_per_s
    if compute_time > memory_time:
        step_time = compute_time
    else:
        step_time = memory_time
    return float(batch) / step_time
''',
        # Python lists for the queue (pop(0)) and for running requests; results built with loops
        "lab07-batching-simulate": '''def simulate(trace, policy, batch_limit, step_cost):
    if policy != "static" and policy != "continuous":
        raise ValueError("unknown policy " + str(policy))
    arrivals = [float(a) for a in trace.arrival_s]
    prompts = [int(p) for p in trace.prompt_tokens]
    outputs = [int(o) for o in trace.output_tokens]
    n = len(arrivals)
    first_time = [None] * n
    end_time = [None] * n
    count = [0] * n
    queue = []
    running = []
    batch = []
    clock = 0.0
    next_req = 0
    finished = 0
    while finished < n:
        while next_req < n and arrivals[next_req] <= clock:
            queue.append(next_req)
            next_req += 1
        if len(running) == 0 and len(queue) == 0:
            clock = arrivals[next_req]
            continue
        joined = []
        if policy == "continuous":
            while len(queue) > 0 and len(running) < batch_limit:
                r = queue.pop(0)
                running.append(r)
                joined.append(r)
            size = len(running)
        else:
            if len(running) == 0:
                batch = []
                while len(queue) > 0 and len(batch) < batch_limit:
                    r = queue.pop(0)
                    batch.append(r)
                    joined.append(r)
                running = list(batch)
            size = len(batch)
        prefill = 0
        for r in joined:
            prefill += prompts[r]
        clock = clock + step_cost(size, prefill)
        for r in list(running):
            count[r] += 1
            if count[r] == 1:
                first_time[r] = clock
            if count[r] == outputs[r]:
                end_time[r] = clock
                running.remove(r)
                finished += 1
    ttft = [first_time[i] - arrivals[i] for i in range(n)]
    tpot = [(end_time[i] - first_time[i]) / (outputs[i] - 1) for i in range(n)]
    return {"ttft": np.array(ttft, dtype=np.float64), "tpot": np.array(tpot, dtype=np.float64),
            "finish_s": np.array(end_time, dtype=np.float64)}
''',
        # column by column in a loop, new dicts built key by key
        "lab07-quantize-quantize_weights": '''def quantize_matrix(w):
    rows, cols = w.shape
    q = np.zeros((rows, cols), dtype=np.int8)
    scale = np.zeros(cols, dtype=np.float32)
    for j in range(cols):
        biggest = np.max(np.abs(w[:, j]))
        s = biggest / 127 if biggest > 0 else 1.0
        scale[j] = s
        q[:, j] = np.clip(np.round(w[:, j] / scale[j]), -127, 127).astype(np.int8)
    return (q, scale)


def quantize_weights(weights):
    new = {}
    for key in weights:
        if key == "layers":
            new_layers = []
            for layer in weights["layers"]:
                new_layer = {}
                for name in layer:
                    value = layer[name]
                    if isinstance(value, np.ndarray) and len(value.shape) == 2:
                        new_layer[name] = quantize_matrix(value)
                    else:
                        new_layer[name] = value
                new_layers.append(new_layer)
            new["layers"] = new_layers
        elif isinstance(weights[key], np.ndarray) and len(weights[key].shape) == 2:
            new[key] = quantize_matrix(weights[key])
        else:
            new[key] = weights[key]
    return new
''',
    },
    "vectorized": {
        # preallocated key/value arrays per layer, filled by slices; the prompt prefilled as one block
        "lab07-cache-generate": '''def generate(weights, prompt, n, use_cache):
    prompt = np.asarray(prompt, dtype=np.int64)
    total = prompt.size + n
    if not use_cache:
        seq = prompt.copy()
        for _ in range(n):
            seq = np.append(seq, np.argmax(forward(weights, seq)[-1]))
        return [int(t) for t in seq[prompt.size:]]
    d = weights["tok_emb"].shape[1]
    P = positional(total, d)
    K = np.zeros((len(weights["layers"]), total, d))
    V = np.zeros_like(K)
    out = np.zeros(total, dtype=np.int64)
    out[:prompt.size] = prompt
    filled = 0
    for step in range(n):
        lo, hi = (0, prompt.size) if step == 0 else (filled, filled + 1)
        x = weights["tok_emb"][out[lo:hi]] + P[lo:hi]
        for li, layer in enumerate(weights["layers"]):
            h = layer_norm(x, layer["ln1_g"], layer["ln1_b"])
            K[li, lo:hi] = h @ layer["wk"]
            V[li, lo:hi] = h @ layer["wv"]
            x = x + attend(h @ layer["wq"], K[li, :hi], V[li, :hi], weights["n_heads"]) @ layer["wo"]
            x = x + mlp(layer, layer_norm(x, layer["ln2_g"], layer["ln2_b"]))
        filled = hi
        logits = layer_norm(x[-1:], weights["lnf_g"], weights["lnf_b"]) @ weights["w_out"] + weights["b_out"]
        out[hi] = np.argmax(logits[0])
    return out[prompt.size:].tolist()
''',
        # np.prod of the factors
        "lab07-memory-kv_bytes_per_token": '''def kv_bytes_per_token(shape, dtype_bytes=2):
    return int(np.prod([2, shape.n_layers, shape.n_kv_heads, shape.head_dim, dtype_bytes]))
''',
        # np.ceil and np.floor, max(.., 0) instead of an if
        "lab07-memory-max_concurrent": '''def max_concurrent(shape, device, context_tokens, weight_bytes=2, kv_bytes=2, block_tokens=16):
    budget = max(device.dram_bytes - shape.n_params * weight_bytes, 0)
    tokens_held = np.ceil(context_tokens / block_tokens) * block_tokens
    return int(np.floor(budget / (tokens_held * kv_bytes_per_token(shape, kv_bytes))))
''',
        # np.maximum of the two times
        "lab07-roofline-decode_tokens_per_s": '''def decode_tokens_per_s(device, shape, batch=1, context_tokens=0, weight_bytes=2, kv_bytes=2):
    moved = shape.n_params * weight_bytes + batch * context_tokens * 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * kv_bytes
    work = batch * (2 * shape.n_params + 4 * shape.n_layers * shape.n_heads * shape.head_dim * context_tokens)
    seconds = np.maximum(work / device.peak_fp16_ops_per_s, moved / device.memory_bandwidth_bytes_per_s)
    return float(batch / seconds)
''',
        # NumPy state arrays: a boolean mask of running requests, emitted counts; collections.deque as the queue
        "lab07-batching-simulate": '''def simulate(trace, policy, batch_limit, step_cost):
    if policy not in {"static", "continuous"}:
        raise ValueError(f"policy {policy!r}")
    arr = np.asarray(trace.arrival_s, dtype=np.float64)
    ptok = np.asarray(trace.prompt_tokens, dtype=np.int64)
    otok = np.asarray(trace.output_tokens, dtype=np.int64)
    n = arr.size
    active = np.zeros(n, dtype=bool)
    emitted = np.zeros(n, dtype=np.int64)
    t_first = np.full(n, np.nan)
    t_end = np.full(n, np.nan)
    waiting = deque()
    queued = 0
    batch_size_static = 0
    t = 0.0
    while np.isnan(t_end).any():
        k = int(np.searchsorted(arr, t, side="right"))
        waiting.extend(range(queued, k))
        queued = max(queued, k)
        if not active.any() and not waiting:
            t = float(arr[queued])
            continue
        new = []
        if policy == "continuous":
            free = batch_limit - int(active.sum())
            while waiting and len(new) < free:
                new.append(waiting.popleft())
        elif not active.any():
            while waiting and len(new) < batch_limit:
                new.append(waiting.popleft())
            batch_size_static = len(new)
        active[new] = True
        size = int(active.sum()) if policy == "continuous" else batch_size_static
        t += step_cost(size, int(ptok[new].sum()))
        emitted[active] += 1
        t_first[active & (emitted == 1)] = t
        ending = active & (emitted == otok)
        t_end[ending] = t
        active[ending] = False
    return {"ttft": t_first - arr, "tpot": (t_end - t_first) / (otok - 1), "finish_s": t_end}
''',
        # a recursive walk over dicts and lists; np.rint and broadcasting
        "lab07-quantize-quantize_weights": '''def quantize_weights(weights):
    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, np.ndarray) and v.ndim == 2:
            amax = np.max(np.abs(v), axis=0)
            scale = (amax / 127).astype(np.float32)
            scale[amax == 0] = 1.0
            q = np.rint(v / scale[None, :]).clip(-127, 127).astype(np.int8)
            return q, scale
        return v
    return walk(weights)
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
