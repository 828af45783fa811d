"""Configuration: TOML + PAPERBOY_* overrides, secrets from the environment, one-line errors."""

import os
import re
import subprocess
import sys

import pytest

from bot.config import load_config
from bot.core.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(tmp_path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_match_the_interface():
    """With no file and no environment the documented defaults apply."""
    settings = load_config(env={}).settings
    assert settings.storage.url == "sqlite+aiosqlite:///paperboy.db"
    assert settings.arxiv.min_interval_seconds == 3.0
    assert (settings.llm.base_url, settings.llm.model, settings.llm.max_concurrency) == (None, "gpt-4o-mini", 8)
    assert (settings.llm.timeout_seconds, settings.llm.daily_token_budget) == (60, 2_000_000)
    assert (settings.summary.language, settings.chat.max_papers_per_message) == ("en", 5)
    assert (settings.slack.enabled, settings.slack.mode, settings.slack.http_port) == (False, "socket", 3000)


def test_environment_overrides_the_file(tmp_path):
    """PAPERBOY_LLM__BASE_URL beats the file; lists parse as TOML arrays."""
    path = write(tmp_path, '[llm]\nbase_url = "http://file/v1"\nmax_concurrency = 2\n')
    env = {"PAPERBOY_LLM__BASE_URL": "http://env/v1", "PAPERBOY_LLM__MAX_CONCURRENCY": "16"}
    config = load_config(path, env)
    assert (config.settings.llm.base_url, config.settings.llm.max_concurrency) == ("http://env/v1", 16)
    assert config.llm_configured


def test_secrets_come_from_the_environment_and_never_print():
    """OPENAI_API_KEY is read from the environment and its repr hides it."""
    config = load_config(env={"OPENAI_API_KEY": "sk-test-abcdefghijkl"})
    secret = config.secrets.get("OPENAI_API_KEY")
    assert secret is not None and secret.reveal() == "sk-test-abcdefghijkl"
    assert "sk-test" not in repr(secret) and "sk-test" not in str(secret)
    assert config.llm_configured


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[llm]\nmax_concurrency = 0\n", "llm.max_concurrency: Input should be greater than or equal to 1"),
        ("[llm]\nmodle = 'x'\n", "llm.modle: unknown key"),
        ("[slack]\nmode = 'websocket'\n", "slack.mode: Input should be 'socket' or 'http'"),
        (
            "[[subscriptions]]\nname='a'\nquery='cat:cs.CL'\ntimezone='Mars/Base'\n",
            "subscriptions.0.timezone: 'Mars/Base'",
        ),
        ("[[subscriptions]]\nname='a'\nquery='q'\nchannels=['slack:#general']\n", "'slack:#general' is not a channel"),
        ("[[subscriptions]]\nname='a'\nquery='q'\ntime='8h'\n", "'8h' is not a time of day"),
        ("[summary]\nlanguage = 'Chinese'\n", "summary.language: 'Chinese' is not a language code"),
        ("[digest]\ndays = 99999999\n", "digest.days: a digest covers 1 to 31 days, not 99999999"),
        ("[digest]\nmax_papers = 201\n", "digest.max_papers: a digest has 1 to 200 papers, not 201"),
        # Subscriptions are checked by the same core checks as those made in chat (Subscription.create).
        ("[[subscriptions]]\nname='a b'\nquery='q'\nchannels=['console']\n", "subscriptions.0.name: 'a b' is not a"),
        ("[[subscriptions]]\nname='a'\nquery='(q'\nchannels=['console']\n", "subscriptions.0.query: the query '(q'"),
        ("[[subscriptions]]\nname='a'\nquery='q'\n", "subscriptions.0.channels: a subscription needs at least one"),
        ("[[subscriptions]]\nname='a'\nquery='q'\nchannels=['console']\nweekdays=[]\n", "one or more weekdays"),
        ("[[subscriptions]]\nname='a'\nquery='q'\nchannels=['console']\nmax_papers=0\n", "1 to 200 papers, not 0"),
        ("[chat]\nmax_papers_per_user_per_minute = 0\n", "chat.max_papers_per_user_per_minute: Input should be"),
        ("[llm\n", "is not valid TOML"),
        # One emoji in both lists, even spelt as Slack names it in one and as Discord sends it in the other.
        ("[ranking]\ninterest_reactions=['+1']\ndisinterest_reactions=['👍']\n", "cannot count as interest and"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_key(tmp_path, toml, expected):
    """Each bad value stops the program with one line naming the key and the problem."""
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, toml), {})
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_missing_config_file_is_an_error(tmp_path):
    """--config pointing nowhere says which file."""
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.toml"), {})


def test_subscriptions_become_core_models(tmp_path):
    """A [[subscriptions]] entry becomes a Subscription with parsed time, weekdays and language."""
    path = write(
        tmp_path,
        "[summary]\nlanguage='zh'\n[[subscriptions]]\nname='nlp'\nquery='cat:cs.CL'\nchannels=['console']\n"
        "time='07:15'\ntimezone='Europe/Berlin'\nweekdays=['Monday','wed']\n"
        "[[subscriptions]]\nname='cv'\nquery='cat:cs.CV'\nchannels=['console']\nlanguage='pt_br'\n",
    )
    sub, cv = load_config(path, {}).settings.subscription_models()
    assert (sub.time.hour, sub.time.minute, sub.weekdays, sub.language) == (7, 15, (0, 2), "zh")
    assert (cv.language, cv.weekdays, cv.time.hour) == ("pt-BR", (0, 1, 2, 3, 4), 8)  # one spelling per language


def test_chat_limits_have_defaults_and_overrides():
    """The per-person and per-channel limits (RELIABILITY rows 29, 46) are settings with documented defaults."""
    chat = load_config(env={}).settings.chat
    assert (chat.max_papers_per_user_per_minute, chat.max_papers_per_channel_per_minute) == (10, 30)
    assert (chat.max_commands_per_user_per_minute, chat.max_subscriptions_per_channel) == (5, 20)
    env = {"PAPERBOY_CHAT__MAX_SUBSCRIPTIONS_PER_CHANNEL": "3"}
    assert load_config(env=env).settings.chat.max_subscriptions_per_channel == 3


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PAPERBOY_SLACK__ENABLED": "true"}, "slack.enabled needs SLACK_BOT_TOKEN in the environment"),
        (
            {"PAPERBOY_SLACK__ENABLED": "true", "SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xoxb-wrong"},
            "SLACK_APP_TOKEN does not look right (it should start with xapp-)",
        ),
        (
            {"PAPERBOY_SLACK__ENABLED": "true", "PAPERBOY_SLACK__MODE": "http", "SLACK_BOT_TOKEN": "xoxb-1"},
            'slack.mode = "http" needs SLACK_SIGNING_SECRET',
        ),
        ({"PAPERBOY_DISCORD__ENABLED": "true"}, "discord.enabled needs DISCORD_BOT_TOKEN"),
    ],
)
def test_missing_or_wrong_platform_tokens_fail_fast(env, expected):
    """An enabled platform without its token is one clear line before anything connects (row 39)."""
    config = load_config(env=env)
    with pytest.raises(ConfigError) as error:
        config.check_platform_secrets()
    assert expected in str(error.value) and "xoxb-wrong" not in str(error.value)


def test_config_example_loads_and_documents_every_key():
    """config.example.toml is valid and names every key of every section (INTERFACE.md)."""
    import pathlib
    import tomllib

    from bot.config import Settings, SubscriptionSettings

    path = pathlib.Path(__file__).parent.parent / "config.example.toml"
    load_config(str(path), {})
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for section, field in Settings.model_fields.items():
        if section == "subscriptions":
            continue
        assert section in data, f"[{section}] is missing"
        for key in field.annotation.model_fields:  # set, or shown commented out when it has no default
            assert key in data[section] or re.search(rf"^#\s*{key} = ", text, re.M), f"{section}.{key} is missing"
    for key in SubscriptionSettings.model_fields:
        assert f"# {key} = " in text, f"subscriptions.{key} is not documented"


@pytest.mark.parametrize(
    ("key", "url", "instead"),
    [
        ("llm.base_url", "http://user:hunter2-pass@127.0.0.1:9/v1", "OPENAI_API_KEY"),
        ("llm.base_url", "http://hunter2-pass@127.0.0.1:9/v1", "OPENAI_API_KEY"),  # a user name alone is Basic auth too
        ("slack.api_url", "https://bot:hunter2-pass@slack.com/api/", "SLACK_BOT_TOKEN"),
        ("discord.api_url", "https://bot:hunter2-pass@discord.com/api/v10", "DISCORD_BOT_TOKEN"),
        ("discord.gateway_url", "wss://bot:hunter2-pass@gateway.discord.gg/", "DISCORD_BOT_TOKEN"),
        ("arxiv.api_url", "https://me:hunter2-pass@export.arxiv.org/api/query", "needs none"),
    ],
)
def test_credentials_in_a_service_url_are_refused_without_repeating_them(tmp_path, key, url, instead):
    """Row 47: user:pass@ in a URL would be logged with it and sent as Basic auth instead of the API key: one line
    naming the key and where the credential goes, from the file or the environment; the password never shown."""
    section, name = key.split(".")
    env_name = f"PAPERBOY_{section.upper()}__{name.upper()}"
    for source in (lambda: load_config(write(tmp_path, f'[{section}]\n{name} = "{url}"\n'), {}),
                   lambda: load_config(env={env_name: url})):  # fmt: skip
        with pytest.raises(ConfigError) as error:
            source()
        message = str(error.value)
        assert f"{key}: the URL has a user name or password in it" in message and instead in message
        assert "hunter2" not in message and "\n" not in message


def test_storage_url_may_carry_its_password():
    """PostgreSQL's URL legitimately holds one (shown hidden wherever it is shown)."""
    url = "postgresql+asyncpg://paperboy:hunter2-pass@db:5432/paperboy"
    assert load_config(env={"PAPERBOY_STORAGE__URL": url}).settings.storage.url == url


def test_paperboy_refuses_a_credential_in_llm_base_url_with_exit_2(tmp_path):
    """The whole command at -v: exit 2, one line on stderr, the password nowhere in the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_") and k != "OPENAI_API_KEY"}
    env |= {"PYTHONPATH": REPO, "PAPERBOY_LLM__BASE_URL": "http://user:hunter2-pass@127.0.0.1:9/v1"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "-v", "summarize", "2505.22653"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    (line,) = done.stderr.strip().splitlines()
    assert done.returncode == 2 and done.stdout == ""
    assert "llm.base_url" in line and "OPENAI_API_KEY" in line and "hunter2" not in line
