"""Settings: environment over file, the key's fallback, and one clear line for a bad value."""

from __future__ import annotations

import pytest

from socratiq_ext.config import KEYLESS, ConfigError, LLMConfig, load_config


def test_no_settings_means_offline(home):
    config = load_config({"SOCRATIQ_HOME": str(home)})
    assert config.llm is None and config.hint_budget is None and config.progress_path == home / "progress.sqlite3"


def test_environment_wins_over_the_file(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        '[llm]\nbase_url = "http://file/v1"\nmodel = "file-model"\ntimeout = 5\n[tutor]\nhint_budget = 3\n'
    )
    config = load_config({"SOCRATIQ_HOME": str(home), "SOCRATIQ_MODEL": "env-model"})
    assert (config.llm.base_url, config.llm.model, config.llm.timeout, config.hint_budget) == (
        "http://file/v1",
        "env-model",
        5.0,
        3,
    )
    assert config.llm.api_key == KEYLESS, "local servers need no key, but the client needs one"


def test_the_key_falls_back_to_openai_api_key_and_never_shows(home):
    openai = "https://api.openai.com/v1"
    config = load_config(
        {"SOCRATIQ_HOME": str(home), "SOCRATIQ_BASE_URL": openai, "OPENAI_API_KEY": "sk-fallback-SECRET"}
    )
    assert config.llm.api_key == "sk-fallback-SECRET" and config.llm.base_url == openai
    assert "SECRET" not in repr(config) and "SECRET" not in config.llm.describe()
    own = load_config(
        {"SOCRATIQ_HOME": str(home), "SOCRATIQ_BASE_URL": openai, "OPENAI_API_KEY": "sk-a", "SOCRATIQ_API_KEY": "sk-b"}
    )
    assert own.llm.api_key == "sk-b"


def test_credentials_in_the_url_are_not_shown():
    llm = LLMConfig(base_url="https://user:pa55word@llm.example.org:8443/v1?key=abc", model="m", api_key="k")
    assert llm.describe() == "m at https://llm.example.org:8443/v1"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SOCRATIQ_BASE_URL": "http://x/v1", "SOCRATIQ_TIMEOUT": "soon"}, "timeout='soon' is not a float"),
        ({"SOCRATIQ_HINT_BUDGET": "-1"}, "hint_budget='-1' must not be negative"),
        ({"SOCRATIQ_BASE_URL": "http://host:abc/v1"}, "is not an http\\(s\\) URL"),
        ({"SOCRATIQ_BASE_URL": "localhost:11434/v1"}, "is not an http\\(s\\) URL"),
    ],
)
def test_bad_values_get_one_line_that_names_them(home, env, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_config({"SOCRATIQ_HOME": str(home), **env})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text, message",
    [("[llm]\nbase_url = 5\n", "base_url must be a non-empty string"), ('llm = "x"\n', r"\[llm\] must be a table")],
)
def test_wrong_types_in_the_file_are_named(home, text, message):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config({"SOCRATIQ_HOME": str(home)})


def test_a_broken_config_file_is_named(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[llm\nmodel = ")
    with pytest.raises(ConfigError, match="config.toml is not valid TOML.*move it aside"):
        load_config({"SOCRATIQ_HOME": str(home)})
