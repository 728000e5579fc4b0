"""The progress store: what it records, how it reports, and that concurrent kernels lose nothing."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from socratiq_ext.content import load_lab
from socratiq_ext.progress import ProgressStore

LAB = "lab01_data"


def test_hints_and_answers_become_a_report(tmp_path):
    content = load_lab(LAB)
    store = ProgressStore(tmp_path / "p.sqlite3")
    question = next(q for q in content.questions if q.objective == "labels")
    store.record_quiz(LAB, question, False)
    store.record_quiz(LAB, question, True)
    store.record_hint(LAB, "lab01-split-split_by_group", 1)
    store.record_hint(LAB, "lab01-split-split_by_group", 2)
    store.record_hint("lab02_model", "lab02-x-y", 1)
    report = store.report(content)
    assert [a.correct for a in report.attempts] == [False, True]
    assert report.by_topic() == {question.topic: (1, 2)}
    assert report.hints == {"lab01-split-split_by_group": 2}
    in_bank = sum(q.objective == "labels" for q in content.questions)
    assert report.mastery["labels"] == pytest.approx(1 / in_bank), "the latest answer counts, over the bank's questions"
    assert set(report.mastery) == set(content.objectives) and report.mastery["memory"] == 0
    assert "2 hints" in report.text() and question.topic in report.text()
    figure = report.figure()
    assert [ax.get_title() for ax in figure.axes] == [
        "Quiz: share right, by topic",
        "Hints used per exercise",
        "Mastery per objective",
    ]


def _write(path, worker, count):
    content = load_lab(LAB)
    store = ProgressStore(path)
    for i in range(count):
        store.record_quiz(LAB, content.questions[i % len(content.questions)], bool(i % 2))
        store.record_hint(LAB, f"ex-{worker}", 1)


def test_two_kernels_writing_at_once_lose_nothing(tmp_path):
    path, count = tmp_path / "shared.sqlite3", 150
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_write, args=(path, worker, count)) for worker in range(2)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(60)
        assert p.exitcode == 0
    store = ProgressStore(path)
    assert len(store.attempts(LAB)) == 2 * count
    assert store.report(load_lab(LAB)).hints == {"ex-0": count, "ex-1": count}


def test_an_unreadable_database_is_left_alone_and_progress_kept_in_memory(tmp_path):
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"this is not a database, but it may be someone's data" * 100)
    before = path.read_bytes()
    store = ProgressStore(path)
    assert "cannot be used" in store.notice and "move it aside" in store.notice and "\n" not in store.notice
    store.record_hint(LAB, "lab01-split-split_by_group", 1)
    assert store.report(load_lab(LAB)).hints == {"lab01-split-split_by_group": 1}
    assert path.read_bytes() == before


def test_the_database_is_in_wal_mode_for_concurrent_readers(tmp_path):
    ProgressStore(tmp_path / "p.sqlite3")
    assert sqlite3.connect(tmp_path / "p.sqlite3").execute("PRAGMA journal_mode").fetchone() == ("wal",)
