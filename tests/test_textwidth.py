"""Display width and wrapping: Chinese, Japanese and Korean lines as wide on screen as English ones."""

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from bot.core.models import SummarizedPaper
from bot.core.render import TEXT_WIDTH, card_text
from bot.core.textwidth import display_width, truncate_to_width, wrap
from tests.test_render import make_paper, make_summary

ZH = (
    "大型语言模型在复杂推理任务上表现出色，但其推理过程往往冗长且低效。我们提出了一种新的方法（称为 ThinkLess），"
    "在保持准确率的同时将推理长度减少了 40%。"
)
JA = "日本語の文章は「かぎかっこ」を含み、句読点で終わる。ッとャは行頭に来ない。長い文も正しく折り返される。"
KO = "대규모 언어 모델은 복잡한 추론 작업에서 뛰어난 성능을 보이지만 추론 과정이 길고 비효율적입니다."


def test_display_width_counts_wide_characters_twice_and_marks_zero():
    assert display_width("abc") == 3
    assert display_width("中文") == 4 and display_width("かな") == 4 and display_width("한국") == 4
    assert display_width("ＡＢ") == 4  # full-width forms
    assert display_width("e\u0301") == 1  # e + combining acute accent
    assert display_width("a\u200bb") == 2  # zero-width space
    assert display_width("·") == 1  # East Asian "ambiguous" counts as narrow


def test_cjk_lines_fit_the_width_in_columns_and_lose_nothing():
    for text in (ZH, JA, KO):
        for width in (20, 41, 88):
            lines = wrap(text, width, "    ", "    ")
            assert len(lines) > 1 or display_width(text) + 4 <= width
            assert all(display_width(line) <= width for line in lines), lines
            assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    # textwrap counted characters: its Chinese lines came out about twice too wide.
    assert max(display_width(line) for line in textwrap.wrap(ZH, 41, break_long_words=False)) > 41


def test_a_sentence_without_spaces_fills_each_line():
    """Japanese and Chinese break between characters: each line is full, short by at most the one
    character held with its punctuation (a line starts neither with 。 nor ッ, ends not with 「)."""
    for width in (20, 41):
        lines = wrap(JA, width)
        assert all(width - 4 <= display_width(line) <= width for line in lines[:-1]), lines


def test_chinese_breaks_between_characters_but_not_before_closing_punctuation():
    lines = wrap("一二三四五六七八九，十", 18)
    assert lines == ["一二三四五六七八", "九，十"]  # "，" never starts a line: "九" moves down with it
    assert wrap("甲乙丙丁戊己庚「辛壬」", 16) == ["甲乙丙丁戊己庚", "「辛壬」"]  # "「" never ends a line


def test_japanese_small_kana_and_korean_words_stay_attached():
    lines = wrap(JA, 20)
    assert not any(line[0] in "。、」ッャ" for line in lines)
    assert all(line.split(" ")[0] in KO for line in wrap(KO, 30))  # Hangul breaks at spaces only
    assert {word for line in wrap(KO, 30) for word in line.split(" ")} == set(KO.split(" "))


def test_a_piece_wider_than_the_line_gets_a_line_of_its_own():
    url = "https://arxiv.org/abs/2505.22653v1?with=a-long-query-string"
    assert wrap(f"详见 {url} 。", 20) == ["详见", f"{url} 。"]
    assert wrap("", 20) == [] and wrap("   ", 20) == []


words = st.text(alphabet="abcdefghij-./:", min_size=1, max_size=15)


@given(st.lists(words, min_size=1, max_size=40), st.integers(min_value=5, max_value=100))
def test_latin_text_wraps_exactly_like_textwrap(parts, width):
    """For text without wide characters nothing changed from textwrap (unbroken words, no hyphen breaks)."""
    text = " ".join(parts)
    expected = textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ",
                             break_long_words=False, break_on_hyphens=False)  # fmt: skip
    assert wrap(text, width, "  ", "    ") == expected


def test_truncate_to_width_counts_columns():
    assert truncate_to_width("… 正在总结 12 篇论文中的第 3 篇", 12) == "… 正在总结…"
    assert display_width(truncate_to_width("正在总结" * 20, 79)) <= 79
    assert truncate_to_width("short", 79) == "short"


def test_a_chinese_card_fits_the_text_width():
    """The console card of a paper summarized in Chinese: no line wider than TEXT_WIDTH columns."""
    summary = make_summary(language="zh", tldr=ZH, takeaways=(JA, KO), abstract_translation=ZH * 3)
    lines = card_text(SummarizedPaper(make_paper(), summary)).splitlines()
    assert max(display_width(line) for line in lines) <= TEXT_WIDTH
    assert sum(line.count("。") for line in lines) == (ZH * 4 + JA).count("。")
