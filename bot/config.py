"""Settings: TOML file + PAPERBOY_<SECTION>__<KEY> environment overrides; secrets only from the environment.

Built once in main (never at import) and passed down. A bad value stops the program with one
line naming the key (ConfigError -> exit 2).
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bot.core.errors import ConfigError, UsageError
from bot.core.models import (
    DEFAULT_CANDIDATES,
    WEEKDAYS,
    Language,
    Subscription,
    check_authors,
    check_candidates,
    check_channels,
    check_days,
    check_max_papers,
    check_query,
    check_subscription_name,
    check_timezone,
    parse_time_of_day,
    parse_weekdays,
)

ENV_PREFIX = "PAPERBOY_"
T = TypeVar("T")
R = TypeVar("R")


def _checked(check: Callable[[T], R], value: T) -> R:
    """A core check as a pydantic validator: its UsageError becomes the ValueError pydantic reports with the key."""
    try:
        return check(value)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _no_credentials(url: str, instead: str) -> str:
    """A user name or password in a service's URL would show wherever the URL does (-v logs, errors) and the
    HTTP client would send it as Basic auth, in place of the real key. The message never repeats the URL."""
    try:
        netloc = urllib.parse.urlsplit(url).netloc
    except ValueError:
        netloc = url
    if "@" in netloc:
        raise ValueError(f"the URL has a user name or password in it; remove them ({instead})")
    return url


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(Section):
    url: str = "sqlite+aiosqlite:///paperboy.db"


class ArxivSettings(Section):
    api_url: str = "https://export.arxiv.org/api/query"
    min_interval_seconds: float = Field(3.0, ge=0)
    timeout_seconds: float = Field(15.0, gt=0)
    max_tries: int = Field(4, ge=1, le=10)
    # An unversioned reference is served from the cache for this long before asking arXiv again.
    cache_hours: float = Field(24.0, ge=0)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _no_credentials(value, "arXiv's API needs none")


class LLMSettings(Section):
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    max_concurrency: int = Field(8, ge=1, le=256)
    timeout_seconds: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    daily_token_budget: int = Field(2_000_000, ge=0)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else _no_credentials(value, "put the API key in OPENAI_API_KEY")


SummarySource = Literal["full", "abstract"]


class SummarySettings(Section):
    language: str = "en"
    # What summaries are written from: the paper itself (its HTML, else its PDF, else the abstract) or the abstract.
    source: SummarySource = "full"

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _checked(Language.parse, value)


class ReaderSettings(Section):
    """Reading the paper itself from arxiv.org (bot.clients.reader)."""

    html_url: str = "https://arxiv.org/html"  # {html_url}/{id}v{n}
    pdf_url: str = "https://arxiv.org/pdf"  # {pdf_url}/{id}v{n}
    # {abs_url}/{id}v{n}, read for a PDF-only paper's licence; unset: "abs" beside pdf_url (https://arxiv.org/abs).
    abs_url: str | None = None
    # Between two requests to arxiv.org, across every process sharing the database (its robots.txt: Crawl-delay 15).
    min_interval_seconds: float = Field(15.0, ge=0)
    max_input_tokens: int = Field(12_000, ge=500, le=1_000_000)
    figures: bool = True
    # The most one request may take, body included (a page that drips in slower than this is not read).
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # A page or PDF larger than this is not read (the PDF, then the abstract, stand in).
    max_html_bytes: int = Field(15_000_000, ge=1, le=1_000_000_000)
    max_pdf_bytes: int = Field(30_000_000, ge=1, le=1_000_000_000)
    max_pdf_pages: int = Field(60, ge=1, le=10_000)

    @field_validator("html_url", "pdf_url", "abs_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _no_credentials(value, "arxiv.org needs none")
        if urllib.parse.urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL, like https://arxiv.org/html")
        return value.rstrip("/")


class DigestSettings(Section):
    max_papers: int = 10
    days: int = 1
    search_limit: int = Field(300, ge=1, le=2000)

    @field_validator("max_papers")
    @classmethod
    def _max_papers(cls, value: int) -> int:
        return _checked(check_max_papers, value)

    @field_validator("days")
    @classmethod
    def _days(cls, value: int) -> int:
        return _checked(check_days, value)


class ChatSettings(Section):
    max_papers_per_message: int = Field(5, ge=1, le=20)
    # Per minute, in each process (RELIABILITY rows 29, 46): beyond it a person is asked to slow down.
    max_papers_per_user_per_minute: int = Field(10, ge=1, le=1000)
    max_papers_per_channel_per_minute: int = Field(30, ge=1, le=10000)
    # Digests and subscription changes asked for by one person.
    max_commands_per_user_per_minute: int = Field(5, ge=1, le=1000)
    max_subscriptions_per_channel: int = Field(20, ge=1, le=1000)
    # Questions answered in one thread (a card's or a digest's) per hour; each also counts as one paper above. At
    # most 50: the cap counts the thread's stored turns, and storage keeps its newest 50 (TURNS_KEPT_PER_THREAD).
    questions_per_thread_per_hour: int = Field(20, ge=1, le=50)
    # Earlier questions and answers of the thread given to the LLM with a follow-up.
    history_turns: int = Field(6, ge=0, le=50)


# The reactions that count, by Slack's names: bot.core.taste.emoji_key makes each one emoji with the character
# Discord sends ("+1" and "👍"), so these serve both platforms.
DEFAULT_INTEREST = ("+1", "star", "fire", "heart", "eyes")
DEFAULT_DISINTEREST = ("-1", "see_no_evil")


class RankingSettings(Section):
    """A channel's taste: which reactions count, and when the learned ranker takes over from keywords."""

    interest_reactions: tuple[str, ...] = DEFAULT_INTEREST
    disinterest_reactions: tuple[str, ...] = DEFAULT_DISINTEREST
    # Below this many signals a channel's digest is ranked by keywords alone, as before.
    min_signals: int = Field(5, ge=1, le=10_000)
    # An embedding model on llm.base_url's /v1/embeddings; unset: TF-IDF over title and abstract (no download).
    embedding_model: str | None = None

    @field_validator("interest_reactions", "disinterest_reactions")
    @classmethod
    def _reactions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(name.strip().strip(":") for name in value)
        if any(not name for name in names):
            raise ValueError("a reaction name is empty")
        return names

    @field_validator("disinterest_reactions")
    @classmethod
    def _not_both(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        from bot.core.taste import emoji_key  # here: loading the settings must not load the taste module

        # Compared as one spelling per emoji: "+1" in one list and "👍" in the other are the same reaction.
        interest = {emoji_key(name) for name in info.data.get("interest_reactions", ())}
        both = {name for name in value if emoji_key(name) in interest}
        if both:
            raise ValueError(f"{', '.join(sorted(both))} cannot count as interest and disinterest both")
        return value


class ScheduleSettings(Section):
    # How often `paperboy run` checks for due digests; the database decides what was posted.
    tick_seconds: float = Field(60.0, ge=1, le=3600)
    # A digest missed while the bot was down is still posted (marked late) within this window.
    grace_hours: float = Field(6.0, ge=0, le=48)
    # How long a process owns a run it claimed before another may take it over (if nothing was sent).
    lease_minutes: float = Field(15.0, ge=1, le=240)
    # A digest's papers are read and summarized this long before its time (once arXiv has announced them),
    # so the post itself takes seconds; 0 turns it off.
    read_ahead_minutes: float = Field(60.0, ge=0, le=720)


class HealthSettings(Section):
    # GET /healthz on this port reports platforms and subscriptions; 0 turns it off.
    port: int = Field(0, ge=0, le=65535)
    host: str = "127.0.0.1"


class SlackSettings(Section):
    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    http_host: str = "127.0.0.1"
    http_port: int = Field(3000, ge=1, le=65535)
    api_url: str = "https://slack.com/api/"

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _no_credentials(value, "the bot's token goes in SLACK_BOT_TOKEN")


class DiscordSettings(Section):
    enabled: bool = False
    api_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    # Commands are synced to these guilds at once; with none, globally (Discord may take up to an hour).
    guild_ids: tuple[int, ...] = ()

    @field_validator("api_url", "gateway_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _no_credentials(value, "the bot's token goes in DISCORD_BOT_TOKEN")


class SubscriptionSettings(Section):
    # Each value is checked by the core's own checks (as a subscription made in chat is), one key at a time.
    name: str
    query: str
    channels: tuple[str, ...] = Field((), validate_default=True)
    time: str = "08:30"
    timezone: str = "UTC"
    weekdays: tuple[str, ...] = WEEKDAYS[:5]
    max_papers: int = 10
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    language: str | None = None
    post_when_empty: bool = True
    source: SummarySource | None = None  # summary.source when unset
    authors: tuple[str, ...] = ()  # people whose new papers are always in the digest, first
    candidates: int = DEFAULT_CANDIDATES  # matching papers ranked (by the channel's taste) for the digest

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _checked(check_subscription_name, value)

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return _checked(check_query, value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _checked(check_channels, value)

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        _checked(parse_time_of_day, value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _checked(check_timezone, value)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(WEEKDAYS[day] for day in _checked(parse_weekdays, value))

    @field_validator("max_papers")
    @classmethod
    def _max_papers(cls, value: int) -> int:
        return _checked(check_max_papers, value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else _checked(Language.parse, value)

    @field_validator("authors")
    @classmethod
    def _authors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _checked(check_authors, value)

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, value: int) -> int:
        return _checked(check_candidates, value)

    def to_subscription(self, default_language: str) -> Subscription:
        return Subscription.create(
            name=self.name,
            query=self.query,
            channels=self.channels,
            time=parse_time_of_day(self.time),
            timezone=self.timezone,
            weekdays=parse_weekdays(self.weekdays),
            max_papers=self.max_papers,
            include=self.include,
            exclude=self.exclude,
            language=self.language or default_language,
            post_when_empty=self.post_when_empty,
            source=self.source,
            authors=self.authors,
            candidates=self.candidates,
        )


class Settings(Section):
    storage: StorageSettings = StorageSettings()
    arxiv: ArxivSettings = ArxivSettings()
    llm: LLMSettings = LLMSettings()
    summary: SummarySettings = SummarySettings()
    reader: ReaderSettings = ReaderSettings()
    digest: DigestSettings = DigestSettings()
    chat: ChatSettings = ChatSettings()
    ranking: RankingSettings = RankingSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    health: HealthSettings = HealthSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    subscriptions: tuple[SubscriptionSettings, ...] = ()

    @field_validator("subscriptions")
    @classmethod
    def _unique_names(cls, value: tuple[SubscriptionSettings, ...]) -> tuple[SubscriptionSettings, ...]:
        names = [sub.name for sub in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two subscriptions are named {name!r}")
        return value

    def subscription_models(self) -> list[Subscription]:
        return [sub.to_subscription(self.summary.language) for sub in self.subscriptions]


class Secret:
    """A secret from the environment; its repr never shows the value."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class Secrets:
    NAMES = ("OPENAI_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN")

    def __init__(self, env: Mapping[str, str]) -> None:
        self._values = {name: Secret(env[name]) for name in self.NAMES if env.get(name)}

    def get(self, name: str) -> Secret | None:
        return self._values.get(name)

    def values(self) -> list[str]:
        return [secret.reveal() for secret in self._values.values()]


class Config:
    """What main builds: the validated settings, the secrets, and where they came from."""

    def __init__(self, settings: Settings, secrets: Secrets, source: str) -> None:
        self.settings = settings
        self.secrets = secrets
        self.source = source

    @property
    def llm_configured(self) -> bool:
        return bool(self.settings.llm.base_url or self.secrets.get("OPENAI_API_KEY"))

    def check_platform_secrets(self) -> None:
        """Before `paperboy run` connects anything: every enabled platform has the secrets it needs."""
        problems = []
        slack, discord = self.settings.slack, self.settings.discord
        if slack.enabled:
            problems += _check_token(self.secrets, "SLACK_BOT_TOKEN", "xoxb-", "slack.enabled")
            if slack.mode == "socket":
                problems += _check_token(self.secrets, "SLACK_APP_TOKEN", "xapp-", 'slack.mode = "socket"')
            else:
                problems += _check_token(self.secrets, "SLACK_SIGNING_SECRET", "", 'slack.mode = "http"')
        if discord.enabled:
            problems += _check_token(self.secrets, "DISCORD_BOT_TOKEN", "", "discord.enabled")
        if problems:
            raise ConfigError("; ".join(problems))


def _check_token(secrets: Secrets, name: str, prefix: str, needed_by: str) -> list[str]:
    secret = secrets.get(name)
    if secret is None:
        return [f"{needed_by} needs {name} in the environment"]
    if not secret.reveal().startswith(prefix):
        return [f"{name} does not look right (it should start with {prefix}); check you copied the right token"]
    return []


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """--config FILE, else $PAPERBOY_CONFIG, else ./config.toml if present, else built-in defaults."""
    if explicit:
        return Path(explicit)
    if env.get("PAPERBOY_CONFIG"):
        return Path(env["PAPERBOY_CONFIG"])
    default = Path("config.toml")
    return default if default.exists() else None  # a directory there is an error, not "no file"


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "PAPERBOY_CONFIG":
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        value: Any = raw
        if raw.startswith("["):  # lists (include, channels...) as TOML arrays
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                raise ConfigError(f'{name} starts with \'[\' but is not a TOML array like ["a", "b"]') from None
        overrides.setdefault(section, {})[key] = value
    return overrides


def _describe(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see config.example.toml for the keys)"
        problems.append(f"{key}: {message}")
    return f"bad configuration in {source}: " + "; ".join(problems)


def load_config(explicit_path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    path = config_path(explicit_path, env)
    data: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        if path.is_dir():
            raise ConfigError(
                f"configuration file {path} is a directory (Docker creates one when the file to mount is "
                "missing): create config.toml beside docker-compose.yml, or pass --config FILE"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"configuration file {path} not found (pass --config FILE or unset PAPERBOY_CONFIG)"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"configuration file {path} cannot be read: {exc.strerror}") from None
    overrides = _env_overrides(env)
    if overrides:
        source += " + PAPERBOY_* environment"
    for section, values in overrides.items():
        current = data.get(section)
        if current is not None and not isinstance(current, dict):
            raise ConfigError(f"bad configuration in {source}: {section}: cannot override a list from the environment")
        data[section] = {**(current or {}), **values}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    return Config(settings, Secrets(env), source)
