"""Every lab that exists gets every action of the tutor, offline and against the test LLM server."""

from __future__ import annotations

import pytest
from llm_server import Reply
from online import online_config
from test_content import LABS

from socratiq_ext import Tutor
from socratiq_ext.config import TutorConfig
from socratiq_ext.content import known_labs
from socratiq_ext.context import ErrorInfo
from socratiq_ext.offline import OFFLINE


def exercise_all(tutor: Tutor) -> None:
    for grade_id, exercise in tutor.content.exercises.items():
        hint = tutor.hint(grade_id)
        assert hint.grade_id == grade_id and exercise.ladder[0] in hint.text
        explained = tutor.explain_error(ErrorInfo("ValueError", "bad shape", (exercise.function,)))
        assert explained.grade_id == grade_id
    answer = tutor.ask(tutor.content.sections[0].title)
    assert answer.offline is (tutor.backend is None) and answer.notice in (None, OFFLINE)
    if answer.offline:
        assert f"section “{tutor.content.sections[0].title}”" in answer.text
    question = tutor.quiz()
    assert tutor.check(question, question.answer[0] if question.kind == "short_answer" else question.answer).correct
    assert len(tutor.progress().attempts) == 1


@pytest.mark.parametrize("lab", LABS)
def test_offline(home, lab):
    assert set(LABS) <= set(known_labs())
    exercise_all(Tutor(lab, config=TutorConfig(home=home / lab)))


@pytest.mark.parametrize("lab", LABS)
def test_against_the_test_server(home, llm, lab):
    tutor = Tutor(lab, config=online_config(home / lab, llm))
    llm.script(*[Reply("What do you expect, and why?")] * 100)
    exercise_all(tutor)
    assert len(llm.requests) == 2 * len(tutor.content.exercises) + 1
