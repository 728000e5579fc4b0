"""How fast SocratiQ answers: the offline tutor per action, and the panel's streaming delay.

    .venv/bin/python -m bench.tutor [--repeats 200]

1. p95 latency of each offline action (hint, explain error, ask, quiz, check,
   progress report and its plot), as a ratio to the 50 ms target.
2. The delay from a streamed token's arrival in the tutor to its display in the
   panel's HTML widget (the value the kernel sends to the browser), against the
   same delay to a bare callback that displays nothing. Tokens come from the tests'
   OpenAI-compatible server on 127.0.0.1, through the real client.
Browser rendering is not included: that needs the end-to-end browser suite.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from course.measure import time_it
from socratiq_ext import Tutor
from socratiq_ext.config import LLMConfig, TutorConfig
from socratiq_ext.context import CellRun, ErrorInfo
from socratiq_ext.panel import TutorPanel
from tests.support.llm_server import ChatServer, Reply

LAB = "lab01_data"
TARGET_S = 0.050


def offline_actions(home: Path, repeats: int) -> None:
    tutor = Tutor(LAB, config=TutorConfig(home=home))
    error = ErrorInfo(
        "AssertionError", "expected 27 records dropped for schema", ("<module>",), "validate_records(records)"
    )
    tutor.history.append(CellRun(error.cell, error))
    question = tutor.quiz()
    actions = {
        "hint": tutor.hint,
        "explain error": tutor.explain_error,
        "ask": lambda: tutor.ask("why cache before augmenting the data?"),
        "quiz (next question)": tutor.quiz,
        "check an answer": lambda: tutor.check(question, 0),
        "progress report": tutor.progress,
        "progress plot": lambda: _close(tutor.progress().figure()),
    }
    print(f"Offline tutor, {repeats} repeats per action (target: p95 <= {TARGET_S * 1e3:.0f} ms)")
    print(f"{'action':<22} {'p50 ms':>8} {'p95 ms':>8} {'p95/target':>11}")
    for name, action in actions.items():
        t = time_it(action, warmup=3, repeats=repeats)
        verdict = "" if t.p95 <= TARGET_S else "  OVER TARGET"
        print(f"{name:<22} {t.p50 * 1e3:>8.2f} {t.p95 * 1e3:>8.2f} {t.p95 / TARGET_S:>11.2f}{verdict}", flush=True)


def _close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def streaming_delay(home: Path, tokens: int) -> None:
    with ChatServer() as server:
        config = TutorConfig(home=home, llm=LLMConfig(base_url=server.base_url, model="bench", api_key="k", timeout=10))
        text = "Which of your checks runs first, and what does it assume about the record? " * (tokens // 16 + 1)
        results = {}
        for name in ("bare callback", "panel widget"):
            server.script(Reply(text[: tokens * 5], chunk_size=5, delay=0.002))
            results[name] = _delays(Tutor(LAB, config=config), panel=name == "panel widget")
    base = np.percentile(results["bare callback"], 95)
    print(f"\nStreaming: delay from a token's arrival to its display, {tokens} tokens")
    print(f"{'display':<16} {'p50 ms':>8} {'p95 ms':>8} {'p95/baseline':>13}")
    for name, delays in results.items():
        p50, p95 = np.percentile(delays, 50), np.percentile(delays, 95)
        print(f"{name:<16} {p50 * 1e3:>8.3f} {p95 * 1e3:>8.3f} {p95 / base:>12.1f}x")


def _delays(tutor: Tutor, panel: bool) -> np.ndarray:
    """Seconds from each delta leaving the client to the first display after it."""
    arrivals, shown = [], []
    stream = tutor.backend.stream

    def timed(messages, stop=None):
        for delta in stream(messages, stop):
            arrivals.append(time.perf_counter())
            yield delta

    tutor.backend.stream = timed
    if panel:
        view = TutorPanel(tutor)
        view.ask_out.observe(lambda _: shown.append(time.perf_counter()), names="value")
        view.question.value = "which check first?"
        view.ask_button.click()
        view.wait()
    else:
        tutor.ask("which check first?", on_text=lambda _: shown.append(time.perf_counter()))
    shown = np.array(shown)
    return np.array([shown[shown >= t][0] - t for t in arrivals])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        offline_actions(Path(home), args.repeats)
        streaming_delay(Path(home), args.tokens)


if __name__ == "__main__":
    main()
