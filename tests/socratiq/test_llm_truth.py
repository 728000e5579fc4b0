"""The LLM path tells the truth (issue 13): over the tests' real OpenAI-compatible server, through the real client.

A reply cut short is shown as cut off, each failure is named for what it is, a student waits at most the
timeout before the offline answer, the status line follows the server, quizzes ask for structured output the
standard way, and student code leaves the machine only for a server someone named.
"""

from __future__ import annotations

import json
import time

import pytest
from llm_server import ChatServer, Hangup, Page, Reply, Stall
from online import GOOD_QUESTION, KEY, online_config

from socratiq_ext import Tutor
from socratiq_ext import llm as llm_module
from socratiq_ext import tutor as tutor_module
from socratiq_ext.config import ConfigError, LLMConfig, TutorConfig, load_config
from socratiq_ext.llm import LLMUnavailable
from socratiq_ext.offline import OFFLINE
from socratiq_ext.prompts import QUESTION_SCHEMA

CUT_OFF_MARK = getattr(tutor_module, "CUT_OFF_MARK", "<no cut-off mark yet>")

QUESTION = "why cache before augment?"


# -- 1. a reply cut short is shown as cut off ------------------------------------------------------------------


def test_a_stream_that_ends_without_finish_reason_or_done_is_cut_off(online_tutor, llm):
    llm.script(Reply("Which folds hold about a fifth", finish_reason=None, done=False))
    reply = online_tutor.ask(QUESTION)
    assert reply.cut_off and not reply.offline
    assert reply.notice.startswith("the reply was cut off: ") and "\n" not in reply.notice
    assert reply.text.startswith("Which folds hold about a fifth") and CUT_OFF_MARK in reply.text


def test_a_connection_cut_mid_stream_keeps_the_partial_text_marked(online_tutor, llm):
    llm.script(Hangup("What do you expect the"))
    reply = online_tutor.ask(QUESTION)
    assert reply.cut_off and "the reply was cut off: " in reply.notice and "dropped the connection" in reply.notice
    assert reply.text.startswith("What do you expect the") and CUT_OFF_MARK in reply.text


def test_finish_reason_length_says_the_server_hit_its_token_limit(online_tutor, llm):
    llm.script(Reply("A long answer that", finish_reason="length"))
    reply = online_tutor.hint("lab01-split-split_by_group")
    assert reply.cut_off and "the reply was cut off: " in reply.notice and "token limit" in reply.notice
    assert "A long answer that" in reply.text and CUT_OFF_MARK in reply.text


def test_a_stream_that_finishes_with_stop_is_complete(online_tutor, llm):
    llm.script(Reply("What does the test fraction tell you?"))
    reply = online_tutor.ask(QUESTION)
    assert not reply.cut_off and reply.notice is None and CUT_OFF_MARK not in reply.text


# -- 2. failures are named for what they are --------------------------------------------------------------------


def test_an_html_page_with_status_200_is_named_not_openai_compatible(online_tutor, llm):
    llm.script(Page())
    reply = online_tutor.ask(QUESTION)
    assert reply.offline and "Input pipelines with tf.data" in reply.text
    assert "not an OpenAI-compatible reply (got text/html): check SOCRATIQ_BASE_URL" in reply.notice
    llm.script(Page(), Page(), Page())
    question = online_tutor.quiz(generate=True)
    assert question.origin == "bank" and "not an OpenAI-compatible reply (got text/html)" in question.notice


@pytest.mark.parametrize("text", ["Think about", ""], ids=["part-of-a-stream", "headers-only"])
def test_a_server_that_goes_silent_stopped_answering(home, llm, text):
    tutor = Tutor("lab01_data", config=online_config(home, llm, timeout=1.0))
    llm.script(Reply(text, stall=10))
    started = time.monotonic()
    reply = tutor.ask(QUESTION)
    assert time.monotonic() - started < 2
    assert "stopped answering after" in reply.notice and "dropped the connection" not in reply.notice
    assert " s" in reply.notice.split("stopped answering after", 1)[1]


# -- 3. a bounded wait, and a status line that follows the server -----------------------------------------------


def test_the_default_wait_before_the_offline_answer_is_ten_seconds(home):
    assert LLMConfig(base_url="http://127.0.0.1:1/v1", model="m", api_key="k").timeout == 10.0
    config = load_config({"SOCRATIQ_HOME": str(home), "SOCRATIQ_BASE_URL": "http://127.0.0.1:1/v1"})
    assert config.llm.timeout == 10.0


@pytest.mark.parametrize("behaviour", [Stall(30), Reply("", stall=30)], ids=["before-headers", "after-headers"])
def test_the_timeout_bounds_the_whole_wait_retries_included(home, llm, behaviour):
    tutor = Tutor("lab01_data", config=online_config(home, llm, timeout=1.0, max_retries=2))
    llm.script(behaviour, behaviour, behaviour)
    started = time.monotonic()
    reply = tutor.ask(QUESTION)
    assert reply.offline and time.monotonic() - started < 1.6, "the timeout is the student's whole wait"


def test_the_status_says_offline_after_a_failure_and_online_after_a_reply(home, llm, monkeypatch):
    monkeypatch.setattr(llm_module, "COOL_DOWN_S", 0.0)
    tutor = Tutor("lab01_data", config=online_config(home, llm, timeout=0.5))
    assert tutor.status.startswith("SocratiQ is online")
    llm.script(Stall(5))
    tutor.ask(QUESTION)
    assert tutor.status.startswith("SocratiQ is offline") and "until" in tutor.status and "\n" not in tutor.status
    llm.script(Reply("What do you expect?"))
    assert not tutor.ask(QUESTION).offline
    assert tutor.status.startswith("SocratiQ is online")


def test_the_status_says_offline_while_the_server_is_down(home):
    with ChatServer() as server:
        config = online_config(home, server)
    tutor = Tutor("lab01_data", config=config)  # the port is closed now
    tutor.ask(QUESTION)
    assert tutor.status.startswith("SocratiQ is offline") and "cannot be reached" in tutor.status


# -- 4. quizzes ask for structured output the standard way -------------------------------------------------------


def test_a_quiz_asks_for_the_question_schema_and_uses_the_reply(online_tutor, llm):
    llm.script(Reply(json.dumps(GOOD_QUESTION)))
    question = online_tutor.quiz(generate=True)
    assert question.origin == "generated" and question.notice is None and question.prompt == GOOD_QUESTION["prompt"]
    sent = llm.requests[-1]["body"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == QUESTION_SCHEMA


def test_a_server_without_json_schema_gets_json_object(online_tutor, llm):
    llm.response_formats = ("text", "json_object")
    llm.script(Reply(json.dumps(GOOD_QUESTION)))
    question = online_tutor.quiz(generate=True)
    assert question.origin == "generated" and question.notice is None
    assert [r["body"].get("response_format", {}).get("type") for r in llm.requests] == ["json_schema", "json_object"]


def test_a_server_without_structured_output_gets_plain_text(online_tutor, llm):
    llm.response_formats = ("text",)
    llm.script(Reply("Here is one: " + json.dumps(GOOD_QUESTION)))
    question = online_tutor.quiz(generate=True)
    assert question.origin == "generated" and question.notice is None
    assert "response_format" not in llm.requests[-1]["body"]


def test_a_garbage_quiz_reply_gives_a_bank_question_and_one_notice(online_tutor, llm):
    llm.script(Reply("{not json"))
    question = online_tutor.quiz(generate=True)
    assert question.origin == "bank" and "here is a question from the bank" in question.notice
    assert "\n" not in question.notice and len(llm.requests) == 1, "an accepted format is not asked again"


# -- 5. privacy: a named server only, and no secret in any message ------------------------------------------------


@pytest.mark.parametrize("key", ["OPENAI_API_KEY", "SOCRATIQ_API_KEY"])
def test_a_key_alone_does_not_switch_the_tutor_online(home, key):
    config = load_config({"SOCRATIQ_HOME": str(home), key: "sk-only-a-key"})
    assert config.llm is None
    tutor = Tutor("lab01_data", config=config)
    reply = tutor.ask(QUESTION)
    assert reply.offline and reply.notice == OFFLINE == tutor.status
    assert "set SOCRATIQ_BASE_URL to your server, e.g. https://api.openai.com/v1" in OFFLINE


def test_a_base_url_in_the_config_file_is_the_opt_in(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[llm]\nbase_url = "https://api.openai.com/v1"\n')
    config = load_config({"SOCRATIQ_HOME": str(home), "OPENAI_API_KEY": "sk-file-optin"})
    assert config.llm.base_url == "https://api.openai.com/v1" and config.llm.api_key == "sk-file-optin"


SECRETS = ("url-pa55-SECRET", "query-key-SECRET")


def _secret_url(server: ChatServer) -> str:
    return server.base_url.replace("http://", f"http://student:{SECRETS[0]}@") + f"?api_key={SECRETS[1]}"


def _no_secret(*texts: object) -> None:
    for text in texts:
        assert not any(s in str(text) for s in SECRETS), text


@pytest.mark.parametrize(
    "behaviour", [Reply("Fine."), Stall(5), Hangup("half"), Page(), Reply("cut", finish_reason=None, done=False)]
)
def test_a_secret_in_the_base_url_is_in_no_message(home, llm, behaviour):
    config = online_config(home, llm, base_url=_secret_url(llm), timeout=0.5)
    tutor = Tutor("lab01_data", config=config)
    _no_secret(config.llm.describe(), repr(config), tutor.status)
    llm.script(behaviour, behaviour, behaviour)
    reply = tutor.ask(QUESTION)
    question = tutor.quiz(generate=True)
    _no_secret(reply.text, reply.notice, question.notice, question.prompt, tutor.status)
    llm.script(behaviour)
    try:
        "".join(tutor.backend.stream([{"role": "user", "content": "hi"}]))
    except LLMUnavailable as error:
        _no_secret(str(error), repr(error))


def test_a_secret_in_a_bad_base_url_is_not_echoed(home):
    for url in (f"https://user:{SECRETS[0]}@host:port/v1", f"ftp://host/v1?api_key={SECRETS[1]}"):
        with pytest.raises(ConfigError) as error:
            load_config({"SOCRATIQ_HOME": str(home), "SOCRATIQ_BASE_URL": url})
        _no_secret(str(error.value), repr(error.value))
        assert "SOCRATIQ" in str(error.value) or "base_url" in str(error.value)


def test_the_panel_has_no_secret_either(home, llm):
    from socratiq_ext.panel import TutorPanel

    panel = TutorPanel(
        Tutor(
            "lab01_data",
            config=TutorConfig(
                home=home, llm=LLMConfig(base_url=_secret_url(llm), model="m", api_key=KEY, timeout=0.5, max_retries=0)
            ),
        )
    )
    _no_secret(panel.status.value)
