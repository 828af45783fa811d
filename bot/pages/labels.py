"""The words a digest page is framed in (headings, labels, dates), in the digest's language.

English and Chinese (simplified and traditional) so far; any other language gets the English frame
around summaries written in that language. Adding a language is adding one Labels value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Labels:
    lang: str  # the language these labels are in (the page's lang attribute)
    title: str  # "{title}, {date}"
    date: str  # "{day} {month} {year}", month spelt out in English
    contents: str
    tldr: str
    takeaways: str
    abstract: str
    translation: str  # "{language}" is the summary's language code
    query: str
    one_day: str  # "{date}" is a long date
    days: str  # "{start}", "{end}"
    papers: tuple[str, str]  # one, several: "{n}"
    omitted: tuple[str, str]
    omitted_more: str  # the omitted papers the digest did not name: "{n}"
    left_out: tuple[str, str]  # references a chat message or command line gave past the limit
    empty: str  # "{query}"
    disclaimer: str
    abs_link: str
    project_link: str
    figures: str  # the folded section with every figure of the paper

    def long_date(self, day: dt.date) -> str:
        return self.date.format(day=day.day, month=_MONTHS[day.month - 1], monthnum=day.month, year=day.year)

    def count(self, forms: tuple[str, str], n: int) -> str:
        return (forms[0] if n == 1 else forms[1]).format(n=n)

    def window(self, date: dt.date, days: int) -> str:
        if days <= 1:
            return self.one_day.format(date=self.long_date(date))
        start = date - dt.timedelta(days=days - 1)
        return self.days.format(start=self.long_date(start), end=self.long_date(date))


ENGLISH = Labels(
    lang="en",
    title="{title}, {date}",
    date="{day} {month} {year}",
    contents="Contents",
    tldr="TL;DR",
    takeaways="Key takeaways",
    abstract="Abstract",
    translation="Abstract, translated ({language})",
    query="Query",
    one_day="Papers first submitted on {date} (UTC)",
    days="Papers first submitted from {start} to {end} (UTC)",
    papers=("{n} paper", "{n} papers"),
    omitted=("1 more paper matched", "{n} more papers matched"),
    omitted_more="… and {n} more",
    left_out=("1 more reference was left out", "{n} more references were left out"),
    empty="No new papers matched “{query}” in this window.",
    disclaimer=(
        "Machine-written: these summaries were generated from the papers (each card says from what) and can be wrong. "
        "Use them to choose what to read, not instead of reading the papers."
    ),
    abs_link="arXiv",
    project_link="Project page",
    figures="Figures",
)

SIMPLIFIED_CHINESE = Labels(
    lang="zh-Hans",
    title="{title} · {date}",
    date="{year}年{monthnum}月{day}日",
    contents="目录",
    tldr="一句话总结",
    takeaways="要点",
    abstract="摘要",
    translation="中文翻译",
    query="检索式",
    one_day="{date}(UTC)首次提交的论文",
    days="{start}至{end}(UTC)首次提交的论文",
    papers=("{n} 篇论文", "{n} 篇论文"),
    omitted=("另有 {n} 篇论文符合条件,未收录", "另有 {n} 篇论文符合条件,未收录"),
    omitted_more="……另有 {n} 篇",
    left_out=("另有 {n} 个链接未处理", "另有 {n} 个链接未处理"),
    empty="此时间段内没有与“{query}”匹配的新论文。",
    disclaimer="以上总结由机器根据论文生成(每张卡片注明依据),可能有误。请用它挑选要读的论文,不要代替阅读论文本身。",
    abs_link="arXiv",
    project_link="项目主页",
    figures="论文图表",
)

TRADITIONAL_CHINESE = Labels(
    **(
        SIMPLIFIED_CHINESE.__dict__
        | {
            "lang": "zh-Hant",
            "contents": "目錄",
            "tldr": "一句話總結",
            "takeaways": "要點",
            "translation": "中文翻譯",
            "query": "檢索式",
            "one_day": "{date}(UTC)首次提交的論文",
            "days": "{start}至{end}(UTC)首次提交的論文",
            "papers": ("{n} 篇論文", "{n} 篇論文"),
            "omitted": ("另有 {n} 篇論文符合條件,未收錄", "另有 {n} 篇論文符合條件,未收錄"),
            "omitted_more": "……另有 {n} 篇",
            "left_out": ("另有 {n} 個連結未處理", "另有 {n} 個連結未處理"),
            "empty": "此時間段內沒有與「{query}」相符的新論文。",
            "disclaimer": (
                "以上總結由機器根據論文生成(每張卡片註明依據),可能有誤。請用它挑選要讀的論文,不要代替閱讀論文本身。"
            ),
            "project_link": "專案主頁",
            "figures": "論文圖表",
        }
    )
)

_TRADITIONAL = {"hant", "tw", "hk", "mo"}


def labels_for(language: str) -> Labels:
    """The frame for a digest in `language` (a code like en, zh, zh-TW, pt-BR)."""
    primary, *rest = language.lower().replace("_", "-").split("-")
    if primary != "zh":
        return ENGLISH
    return TRADITIONAL_CHINESE if _TRADITIONAL & set(rest) else SIMPLIFIED_CHINESE
