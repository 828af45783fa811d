"""Chat commands typed once: parse_command for the text platforms, and the one set of value checks
(language, bounds, subscription fields) shared by chat, Discord, the CLI and the configuration. No I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.commands import (
    AdhocDigest,
    ChannelDigest,
    Help,
    ListSubscriptions,
    Subscribe,
    Unsubscribe,
    is_digest_command,
    parse_command,
)
from bot.core.errors import UsageError
from bot.core.models import Language, Subscription, check_days, check_max_papers, check_query, parse_weekdays


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/digest", ChannelDigest()),
        ("  /digest  ", ChannelDigest()),
        ("", ChannelDigest()),
        ("/digest help", Help()),
        ("/digest HELP me", Help()),
        ("/digest list", ListSubscriptions()),
        ("list", ListSubscriptions()),  # Slack's command text comes without /digest
        ("/digest unsubscribe rl", Unsubscribe("rl")),
        ("/digest cat:cs.CL", AdhocDigest("cat:cs.CL")),
        ('/digest "list"', AdhocDigest('"list"')),  # quoted: a search for the word, not the subcommand
        (
            "/digest cat:cs.LG AND abs:reward --days 3 --max 5 --language zh_cn",
            AdhocDigest("cat:cs.LG AND abs:reward", days=3, max_papers=5, language=Language("zh-CN")),
        ),
        # Phrases keep their quotes for arXiv; an option's quoted value loses them.
        ('/digest abs:"large language models" --language "pt-br"',
         AdhocDigest('abs:"large language models"', language=Language("pt-BR"))),
        ("/digest\tcat:cs.CL\t--max\t2", AdhocDigest("cat:cs.CL", max_papers=2)),
        ("/digest cat:cs.CL --days 99999999", AdhocDigest("cat:cs.CL", days=99999999)),  # bounds: when handled
        (
            "/digest subscribe rl cat:cs.LG AND abs:reward --time 7:15 --timezone Europe/Berlin "
            "--weekdays mon,Wednesday --max 4 --language EN",
            Subscribe("rl", "cat:cs.LG AND abs:reward", time=dt.time(7, 15), timezone="Europe/Berlin",
                      weekdays=(0, 2), max_papers=4, language=Language("en")),
        ),
        ("/digest subscribe nlp cat:cs.CL", Subscribe("nlp", "cat:cs.CL")),
    ],
)  # fmt: skip
def test_parse_command(text, command):
    """Each text command becomes one typed command; options not given are None (the configured default)."""
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/digest cat:cs.CL --max lots", "--max takes a whole number, not 'lots'"),
        ("/digest cat:cs.CL --days ²", "--days takes a whole number, not '²'"),
        ("/digest cat:cs.CL --max", "--max needs a value"),
        ("/digest cat:cs.CL --dyas 3", "there is no option --dyas here (options: --days, --max, --language)"),
        ("/digest cat:cs.CL --language Klingon", "'Klingon' is not a language code like en, zh or pt-BR"),
        ("/digest subscribe onlyname", "Usage: /digest subscribe NAME QUERY"),
        ("/digest subscribe x cat:cs.CL --time 25:00", "'25:00' is not a time of day like 08:30"),
        ("/digest subscribe x cat:cs.CL --time 08:30+02:00", "'08:30+02:00' is not a time of day like 08:30"),
        ("/digest subscribe x cat:cs.CL --weekdays mon,funday", "'funday' is not a weekday (use mon, tue, ... sun)"),
        ("/digest subscribe x cat:cs.CL --days 3", "there is no option --days here"),
        ("/digest unsubscribe", "Usage: /digest unsubscribe NAME"),
        ("/digest unsubscribe a b", "Usage: /digest unsubscribe NAME"),
    ],
)
def test_malformed_commands_are_one_line_usage_errors(text, message):
    """A malformed command is a UsageError whose one line says what to write instead."""
    with pytest.raises(UsageError) as error:
        parse_command(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_is_digest_command():
    assert is_digest_command("/digest") and is_digest_command(" /digest cat:cs.CL")
    assert not is_digest_command("/digestive biscuits") and not is_digest_command("see /digest")


@pytest.mark.parametrize(
    ("text", "code", "english"),
    [("en", "en", True), ("EN-gb", "en-GB", True), ("zh-CN", "zh-CN", False), ("zh_cn", "zh-CN", False),
     ("zh-cn", "zh-CN", False), (" pt_BR ", "pt-BR", False), ("zh-hant", "zh-Hant", False), ("es-419", "es-419", False),
     ("fil", "fil", False)],
)  # fmt: skip
def test_language_has_one_spelling(text, code, english):
    """zh-CN, zh_cn and zh-cn are one language, one cache key; 'English' has one definition."""
    language = Language.parse(text)
    assert (language, language.is_english, isinstance(language, str)) == (code, english, True)


@pytest.mark.parametrize("text", ["Chinese", "e", "zh-", "zh-CN-x-private", "en;drop", ""])
def test_language_rejects_what_is_not_a_code(text):
    with pytest.raises(UsageError, match="is not a language code like en, zh or pt-BR"):
        Language.parse(text)


def test_bounds_and_queries():
    """One definition of the bounds and of a query a digest may run (the arXiv client checks the same)."""
    assert (check_days(31), check_max_papers(200), check_max_papers(50, 50)) == (31, 200, 50)
    for check, value, message in [
        (check_days, 0, "a digest covers 1 to 31 days, not 0"),
        (check_days, 99999999, "a digest covers 1 to 31 days, not 99999999"),
        (check_max_papers, 201, "a digest has 1 to 200 papers, not 201"),
        (lambda n: check_max_papers(n, 50), 51, "a digest has 1 to 50 papers, not 51"),
        (check_query, "cat:cs.LG) OR (cat:cs.LG", "unbalanced parentheses"),
        (check_query, "(cat:cs.CL", "unbalanced parentheses"),
        (check_query, "cat:cs.CL AND submittedDate:[2020 TO 2025]", "leave dates out of the query"),
        (check_query, "x" * 501, "longer than 500 characters"),
        (check_query, "  ", "a digest needs a query"),
    ]:
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            check(value)
    assert check_query("  (cat:cs.CL OR cat:cs.LG) AND abs:reward ") == "(cat:cs.CL OR cat:cs.LG) AND abs:reward"


def test_weekdays_are_numbers_in_week_order():
    assert parse_weekdays(["Friday", "mon", "MON", "wed"]) == (0, 2, 4)
    with pytest.raises(UsageError, match="one or more weekdays"):
        parse_weekdays([])


GOOD = dict(name="rl", query="cat:cs.LG", channels=("slack:C0TEAMCHAN",))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "my digest"}, "'my digest' is not a subscription name"),
        ({"name": "x" * 41}, "is not a subscription name"),
        ({"query": "(cat:cs.CL"}, "unbalanced parentheses"),
        ({"channels": ()}, "a subscription needs at least one channel"),
        ({"channels": ("slack:#general",)}, "'slack:#general' is not a channel"),
        ({"timezone": "Mars/Base"}, "'Mars/Base' is not an IANA time zone like Europe/Berlin"),
        ({"timezone": "../../etc/passwd"}, "is not an IANA time zone"),
        ({"weekdays": ()}, "one or more weekdays"),
        ({"weekdays": (7,)}, "one or more weekdays"),
        ({"max_papers": 0}, "a digest has 1 to 200 papers, not 0"),
        ({"max_papers": 60, "most_papers": 50}, "a digest has 1 to 50 papers, not 60"),
        ({"language": "Klingon"}, "'Klingon' is not a language code"),
        ({"time": dt.time(8, 30, tzinfo=dt.UTC)}, "is not a time of day like 08:30"),
    ],
)
def test_subscription_create_checks_every_value(change, message):
    """Subscription.create is the one place a subscription from a person is checked (config, chat, Discord)."""
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        Subscription.create(**{**GOOD, **change})


def test_subscription_create_normalizes():
    sub = Subscription.create(**{**GOOD, "query": " cat:cs.LG "}, weekdays=(4, 0, 0), language="zh_cn")
    assert (sub.weekdays, sub.language, sub.query) == ((0, 4), "zh-CN", "cat:cs.LG")
    assert (sub.time, sub.timezone, sub.max_papers) == (dt.time(8, 30), "UTC", 10)
