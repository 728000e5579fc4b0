"""The panel's widgets: click the buttons, read what is displayed."""

from __future__ import annotations

import pytest
from llm_server import Fail, Reply

from socratiq_ext.context import CellRun, ErrorInfo
from socratiq_ext.panel import TABS, TutorPanel


@pytest.fixture
def panel(offline_tutor) -> TutorPanel:
    return TutorPanel(offline_tutor)


def click(panel: TutorPanel, button) -> None:
    button.click()
    panel.wait(10)
    assert not panel.busy


def test_offline_the_panel_says_so_in_one_line(panel):
    assert "offline" in panel.status.value and panel.generate_button.disabled


def test_the_exercise_list_starts_on_the_current_exercise(panel):
    assert panel.exercise.get_state()["index"] == 0, "the browser shows the selected index; None shows a blank"
    assert panel.exercise.value is None and len(panel.exercise.options) == 1 + len(panel.tutor.content.exercises)


def test_hint_escalates_on_each_click(panel):
    panel.exercise.value = "lab01-split-split_by_group"
    click(panel, panel.hint_button)
    assert "Hint 1/4" in panel.hint_out.value and "split_by_group" in panel.hint_out.value
    click(panel, panel.hint_button)
    assert "Hint 2/4" in panel.hint_out.value


def test_explain_error_shows_the_last_failure(panel, offline_tutor):
    click(panel, panel.explain_button)
    assert "No error to explain yet" in panel.explain_out.value
    error = ErrorInfo("NameError", "name 'records' is not defined", ("<module>",), "validate_records(records)")
    offline_tutor.history.append(CellRun(error.cell, error))
    click(panel, panel.explain_button)
    assert "NameError" in panel.explain_out.value and "Validate the whole upload" in panel.explain_out.value


def test_ask_answers_with_the_section(panel):
    panel.question.value = "why cache before augment?"
    click(panel, panel.ask_button)
    assert "Input pipelines with tf.data" in panel.ask_out.value


def test_quiz_gives_feedback_at_once_and_progress_shows_it(panel, offline_tutor):
    panel.tabs.selected_index = TABS.index("Quiz")
    question = panel._question
    assert question.prompt[:30] in panel.quiz_prompt.value
    panel.choices.value = question.answer
    click(panel, panel.check_button)
    assert "Right." in panel.quiz_out.value
    panel.next_button.click()
    wrong = panel._question
    assert wrong.id != question.id and panel.quiz_out.value == ""
    if wrong.kind == "short_answer":
        panel.short_answer.value = "certainly not this"
    else:
        panel.choices.value = next(value for _, value in panel.choices.options if value != wrong.answer)
    click(panel, panel.check_button)
    assert "Not quite." in panel.quiz_out.value and wrong.answer_text in panel.quiz_out.value
    panel.tabs.selected_index = TABS.index("Progress")
    assert bytes(panel.progress_plot.value).startswith(b"\x89PNG") and "2 quiz answers" in panel.progress_text.value


def test_short_answers_get_a_text_box(panel, offline_tutor):
    short = next(q for q in offline_tutor.content.questions if q.kind == "short_answer")
    panel._show_question(short)
    assert panel.short_answer.layout.display is None and panel.choices.layout.display == "none"
    panel.short_answer.value = short.answer[0].upper()
    click(panel, panel.check_button)
    assert "Right." in panel.quiz_out.value


def test_checking_without_an_answer_asks_for_one(panel):
    panel.tabs.selected_index = TABS.index("Quiz")
    panel.check_button.click()
    assert "Pick or type an answer first" in panel.notice.value and panel.quiz_out.value == ""


def test_a_streamed_reply_is_displayed_as_it_grows(online_tutor, llm):
    panel = TutorPanel(online_tutor)
    assert "online" in panel.status.value and not panel.generate_button.disabled
    llm.script(
        Reply(
            "What does the cache keep after the first epoch? Think of the decoded images. And what would it replay?",
            chunk_size=4,
            delay=0.01,
        )
    )
    values = []
    panel.ask_out.observe(lambda change: values.append(change["new"]), names="value")
    panel.question.value = "why cache before augment?"
    click(panel, panel.ask_button)
    assert len(values) > 3 and "what would it replay?" in values[-1]
    assert panel.notice.value == ""


def test_stop_ends_the_stream_and_frees_the_buttons(online_tutor, llm):
    panel = TutorPanel(online_tutor)
    llm.script(Reply("One more word. " * 400, chunk_size=5, delay=0.01))
    panel.question.value = "tell me about caching"
    panel.ask_button.click()
    assert panel.ask_button.disabled and not panel.stop_button.disabled
    while len(panel.ask_out.value) < 60:
        panel.wait(0.01)
    panel.stop_button.click()
    panel.wait(5)
    assert "stopped" in panel.notice.value and len(panel.ask_out.value) < 1000
    assert not panel.ask_button.disabled and panel.stop_button.disabled


def test_markup_from_the_llm_is_escaped(online_tutor, llm):
    panel = TutorPanel(online_tutor)
    llm.script(Reply('Look <script>alert("hi")</script> <img src=x onerror=alert(1)> here.'))
    panel.question.value = "caching?"
    click(panel, panel.ask_button)
    assert "<script>" not in panel.ask_out.value and "<img" not in panel.ask_out.value
    assert "&lt;script&gt;" in panel.ask_out.value


def test_a_failing_server_is_one_line_and_an_offline_answer(online_tutor, llm):
    panel = TutorPanel(online_tutor)
    llm.script(Fail(500))
    panel.question.value = "why cache before augment?"
    click(panel, panel.ask_button)
    assert "server error (500)" in panel.notice.value and "Traceback" not in panel.notice.value
    assert "Input pipelines with tf.data" in panel.ask_out.value


def test_an_unexpected_failure_is_one_line_not_a_traceback(panel):
    panel.exercise.options = list(panel.exercise.options) + [("Ghost", "lab01-ghost")]
    panel.exercise.value = "lab01-ghost"
    click(panel, panel.hint_button)
    assert panel.notice.value.startswith("<i>SocratiQ could not do that:") and "lab01-ghost" in panel.notice.value
    assert not panel.hint_button.disabled


def test_generated_questions_come_from_the_llm_button(online_tutor, llm):
    import json

    panel = TutorPanel(online_tutor)
    question = {
        "kind": "true_false",
        "prompt": "Prefetching overlaps producing a batch with consuming the last one.",
        "answer": True,
        "explanation": "prefetch runs the pipeline ahead while the model computes.",
        "section": "Input pipelines with tf.data",
        "topic": "input pipelines",
        "objective": "pipeline",
    }
    llm.script(Reply(json.dumps(question)))
    click(panel, panel.generate_button)
    assert "Prefetching overlaps" in panel.quiz_prompt.value and "written by the LLM" in panel.quiz_prompt.value


def test_next_moves_on_without_an_answer_and_one_answer_counts(panel, offline_tutor):
    panel.tabs.selected_index = TABS.index("Quiz")
    first = panel._question
    panel.next_button.click()
    assert panel._question.id != first.id
    panel.choices.value = panel.choices.options[0][1] if panel.choices.options else None
    panel.short_answer.value = "an answer"
    panel.check_button.click()
    assert panel.check_button.disabled, "a question is answered once; Next asks another"
    assert len(offline_tutor.progress().attempts) == 1


def test_stop_is_immediate_even_before_the_first_token(online_tutor, llm):
    from llm_server import Stall

    panel = TutorPanel(online_tutor)
    llm.script(Stall(1.0))  # then the server's default reply, which must not show
    panel.question.value = "why cache?"
    panel.ask_button.click()
    panel.stop_button.click()
    assert not panel.ask_button.disabled and "stopped" in panel.notice.value
    before = panel.ask_out.value
    panel.wait(5)
    assert panel.ask_out.value == before and "stopped" in panel.notice.value, "the stopped worker's output is dropped"


def test_stop_during_question_writing_keeps_the_question(online_tutor, llm):
    from llm_server import Stall

    panel = TutorPanel(online_tutor)
    panel.tabs.selected_index = TABS.index("Quiz")
    shown = panel._question
    llm.script(Stall(0.5))
    panel.generate_button.click()
    panel.stop_button.click()
    panel.wait(5)
    assert panel._question is shown and not panel.generate_button.disabled


def test_a_failure_on_the_main_thread_is_one_line(panel, offline_tutor, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(offline_tutor.store, "record_quiz", broken)
    panel.tabs.selected_index = TABS.index("Quiz")
    panel.choices.value = panel._question.answer if panel._question.kind != "short_answer" else None
    panel.short_answer.value = "x"
    panel.check_button.click()
    assert "SocratiQ could not do that: disk full" in panel.notice.value
