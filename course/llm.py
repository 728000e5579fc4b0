"""Lab 7's pieces that are not the point of an exercise: text, model shapes and a request trace.

- :func:`load_corpus` -- the course's own readings as one byte string, split into training and held-out text;
- :func:`encode` / :func:`decode` -- byte-level tokens (a vocabulary of 256, nothing to download);
- :func:`training_windows` -- random (input, next-token target) windows for next-token training;
- :data:`MODEL_SHAPES` -- published decoder-only shapes (Llama 3 8B and 70B) with their sources;
- :func:`request_trace` -- a seeded trace of chat requests (arrival times, prompt and output lengths).

Everything is offline and deterministic: the same seed gives the same windows and the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = [
    "VOCAB_SIZE",
    "Corpus",
    "ModelShape",
    "MODEL_SHAPES",
    "Trace",
    "decode",
    "encode",
    "limit_blas_threads",
    "load_corpus",
    "request_trace",
    "training_windows",
]


def limit_blas_threads(n: int = 1) -> int:
    """Let NumPy's BLAS use at most ``n`` threads from now on; returns the number it had.

    A tiny model's matrices are far too small to split across threads: on a shared, busy
    machine two BLAS threads waiting for each other make a 64 x 64 product ten times slower
    than one thread alone.
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    before = max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=0)
    threadpool_limits(limits=n, user_api="blas")
    return before


#: Byte-level tokens: every byte value is a token.
VOCAB_SIZE = 256


@dataclass(frozen=True)
class Corpus:
    """The course's readings as tokens: ``train`` for training, ``heldout`` (the last share) for evaluation."""

    train: np.ndarray
    heldout: np.ndarray
    sources: tuple[str, ...]


def load_corpus(heldout_fraction: float = 0.1) -> Corpus:
    """The course's readings (``course/readings/*.md``, sorted by name), as byte tokens.

    The last ``heldout_fraction`` of every reading is held out, so both parts cover every lab's text.
    Lab 7's own reading is left out: what the model learns must not depend on the lab that trains it.
    """
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    folder = resources.files(__package__).joinpath("readings")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".md") and not p.name.startswith("lab07"))
    train, heldout = [], []
    for name in names:
        tokens = encode(folder.joinpath(name).read_text(encoding="utf-8"))
        cut = int(len(tokens) * (1 - heldout_fraction))
        train.append(tokens[:cut])
        heldout.append(tokens[cut:])
    return Corpus(np.concatenate(train), np.concatenate(heldout), tuple(names))


def encode(text: str) -> np.ndarray:
    """UTF-8 bytes of ``text`` as an int32 array of tokens in 0..255."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32)


def decode(tokens) -> str:
    """Tokens back to text; a byte sequence that is not valid UTF-8 shows as the replacement character."""
    return bytes(int(t) for t in tokens).decode("utf-8", errors="replace")


def training_windows(tokens: np.ndarray, context: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random windows of ``context`` tokens and, for each position, the token that follows it.

    Returns ``(inputs, targets)``, two int32 arrays of shape ``(n, context)``.
    """
    tokens = np.asarray(tokens, dtype=np.int32)
    if len(tokens) <= context:
        raise ValueError(f"need more than {context} tokens, got {len(tokens)}")
    starts = np.random.default_rng(seed).integers(0, len(tokens) - context, size=n)
    index = starts[:, None] + np.arange(context)[None, :]
    return tokens[index], tokens[index + 1]


@dataclass(frozen=True)
class ModelShape:
    """The shape of a decoder-only transformer, as the serving maths needs it.

    ``n_params`` is the published parameter count (embeddings included); ``source`` the document it came from.
    """

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    n_params: float
    source: str


#: Published shapes (the models' config.json on their model cards, and the Llama 3 paper, Table 3).
MODEL_SHAPES = {
    "llama3_8b": ModelShape(
        "Llama-3-8B",
        32,
        4096,
        32,
        8,
        128,
        128256,
        8.03e9,
        "https://huggingface.co/meta-llama/Meta-Llama-3-8B (config.json); Dubey et al. 2024, "
        "The Llama 3 Herd of Models, https://arxiv.org/abs/2407.21783",
    ),
    "llama3_70b": ModelShape(
        "Llama-3-70B",
        80,
        8192,
        64,
        8,
        128,
        128256,
        70.6e9,
        "https://huggingface.co/meta-llama/Meta-Llama-3-70B (config.json); Dubey et al. 2024, "
        "The Llama 3 Herd of Models, https://arxiv.org/abs/2407.21783",
    ),
}


@dataclass(frozen=True)
class Trace:
    """Requests sorted by arrival: ``arrival_s`` (float64 seconds), ``prompt_tokens`` and ``output_tokens`` (int64)."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def request_trace(
    n: int, rate_per_s: float, seed: int, *, mean_prompt: float = 256, mean_output: float = 128, max_tokens: int = 2048
) -> Trace:
    """A seeded trace of ``n`` chat requests arriving as a Poisson process at ``rate_per_s``.

    Prompt and output lengths are log-normal around their means (chat lengths have long tails), whole numbers
    between 2 and ``max_tokens``, so every request has a first token and at least one more.
    """
    if n < 1 or rate_per_s <= 0:
        raise ValueError(f"need n >= 1 and rate_per_s > 0, got n={n}, rate_per_s={rate_per_s}")
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1 / rate_per_s, size=n))
    arrival -= arrival[0]
    sigma = 0.8

    def lengths(mean: float) -> np.ndarray:
        raw = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, size=n)
        return np.clip(np.round(raw), 2, max_tokens).astype(np.int64)

    return Trace(arrival.astype(np.float64), lengths(mean_prompt), lengths(mean_output))
