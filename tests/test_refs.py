"""Reference parsing: every accepted form, hostile inputs (RELIABILITY row 19), chat extraction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import InvalidReference
from bot.core.models import ArxivRef
from bot.core.refs import find_invalid_links, find_refs, parse_ref

ACCEPTED = [
    # arXiv itself: abs / pdf / html, versions, hosts, schemes
    ("https://arxiv.org/abs/2505.22653", "2505.22653", None),
    ("https://arxiv.org/abs/2505.22653v2", "2505.22653", 2),
    ("http://arxiv.org/abs/2505.22653v12", "2505.22653", 12),
    ("arxiv.org/abs/2505.22653", "2505.22653", None),
    ("https://www.arxiv.org/abs/2505.22653", "2505.22653", None),
    ("https://export.arxiv.org/abs/2505.22653v1", "2505.22653", 1),
    ("HTTPS://ArXiv.Org/abs/2505.22653", "2505.22653", None),
    ("https://arxiv.org:443/abs/2505.22653", "2505.22653", None),
    ("https://arxiv.org/pdf/2505.22653", "2505.22653", None),
    ("https://arxiv.org/pdf/2505.22653v3", "2505.22653", 3),
    ("https://arxiv.org/pdf/2505.22653v3.pdf", "2505.22653", 3),
    ("https://arxiv.org/pdf/2505.22653.pdf", "2505.22653", None),
    ("https://arxiv.org/html/2505.22653v1", "2505.22653", 1),
    ("https://arxiv.org/html/2505.22653v1/", "2505.22653", 1),
    ("https://arxiv.org/html/2505.22653v1#S3", "2505.22653", 1),
    ("https://arxiv.org/abs/2505.22653?context=cs", "2505.22653", None),
    ("https://arxiv.org/abs/0704.0001", "0704.0001", None),
    # old-style ids in URLs
    ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
    ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001", 2),
    ("https://arxiv.org/pdf/astro-ph/0601001v1.pdf", "astro-ph/0601001", 1),
    ("https://arxiv.org/abs/math.CO/0601001", "math/0601001", None),
    # mirrors
    ("https://alphaxiv.org/abs/2505.22653", "2505.22653", None),
    ("https://www.alphaxiv.org/overview/2505.22653v2", "2505.22653", 2),
    ("https://ar5iv.org/abs/2505.22653", "2505.22653", None),
    ("https://ar5iv.org/html/hep-th/9901001", "hep-th/9901001", None),
    ("https://ar5iv.labs.arxiv.org/html/2505.22653", "2505.22653", None),
    ("https://huggingface.co/papers/2505.22653", "2505.22653", None),
    # arXiv:ID
    ("arXiv:2505.22653", "2505.22653", None),
    ("ARXIV:2505.22653v4", "2505.22653", 4),
    ("arxiv:hep-th/9901001v2", "hep-th/9901001", 2),
    # bare ids
    ("2505.22653", "2505.22653", None),
    ("2505.22653v2", "2505.22653", 2),
    ("0801.1234", "0801.1234", None),
    ("  2505.22653\n", "2505.22653", None),
    ("hep-th/9901001", "hep-th/9901001", None),
    ("math.CO/0601001v2", "math/0601001", 2),
    ("astro-ph/0601001", "astro-ph/0601001", None),
    ("cond-mat.mes-hall/0601001", "cond-mat/0601001", None),
    ("HEP-TH/9901001", "hep-th/9901001", None),
    # arXiv's own identifier tests (github.com/arXiv/arxiv-base, arxiv/identifier/test_*identifier.py)
    ("math/9901123", "math/9901123", None),
    ("hep-ex/9901123", "hep-ex/9901123", None),
    ("gr-qc/9901123", "gr-qc/9901123", None),
    ("math.NA/9901123", "math/9901123", None),
    ("cs.DB/9901123", "cs/9901123", None),
    ("gr-qc/9901123v3", "gr-qc/9901123", 3),
    ("1202.1234", "1202.1234", None),
    ("1202.1234v1", "1202.1234", 1),
    ("physics/0303098", "physics/0303098", None),
    ("physics/0303098/", "physics/0303098", None),
    ("2002.01234v3", "2002.01234", 3),
    # the edges of what can exist: old style 9108-0703, four digits 0704-1412, five from 1501
    ("hep-th/9108001", "hep-th/9108001", None),
    ("hep-th/9912999", "hep-th/9912999", None),
    ("math/0001001", "math/0001001", None),
    ("cs/0703001v2", "cs/0703001", 2),
    ("0704.0001", "0704.0001", None),
    ("0812.9999", "0812.9999", None),
    ("1412.9999", "1412.9999", None),
    ("1501.00001", "1501.00001", None),
    ("9912.99999", "9912.99999", None),
    # trailing slash (arXiv accepts it), bare and in links
    ("hep-th/9901001/", "hep-th/9901001", None),
    ("arXiv:hep-th/9901001v2/", "hep-th/9901001", 2),
    ("https://arxiv.org/abs/hep-th/9901001/", "hep-th/9901001", None),
    ("https://arxiv.org/abs/math.CO/0601001v1/", "math/0601001", 1),
    ("2505.22653/", "2505.22653", None),
    # arXiv DOIs (10.48550/arXiv.ID) as citation managers paste them; DOIs are case-insensitive
    ("10.48550/arXiv.2505.22653", "2505.22653", None),
    ("https://doi.org/10.48550/arXiv.2505.22653", "2505.22653", None),
    ("http://doi.org/10.48550/arXiv.2505.22653", "2505.22653", None),
    ("https://dx.doi.org/10.48550/arXiv.2505.22653", "2505.22653", None),
    ("doi.org/10.48550/arXiv.2505.22653", "2505.22653", None),
    ("HTTPS://DOI.ORG/10.48550/ARXIV.2505.22653", "2505.22653", None),
    ("10.48550/arxiv.2505.22653", "2505.22653", None),
    ("doi:10.48550/arXiv.0704.0001", "0704.0001", None),
    ("DOI:10.48550/arXiv.1412.9999", "1412.9999", None),
    ("10.48550/arXiv.hep-th/9901001", "hep-th/9901001", None),
    ("https://doi.org/10.48550/arXiv.MATH/0601001", "math/0601001", None),
]

REJECTED = [
    "",
    "   ",
    "hello",
    "arXiv:",
    # look-alike hosts, userinfo, ports
    "arxiv.org.evil.com/abs/2301.00001",
    "https://arxiv.org.evil.com/abs/2301.00001",
    "https://evilarxiv.org/abs/2301.00001",
    "https://arxiv.org@evil.com/abs/2301.00001",
    "https://user@arxiv.org/abs/2301.00001",
    "https://arxiv.org:8080/abs/2301.00001",
    "https://evil.com/abs/2301.00001",
    "https://evil.com/?u=https://arxiv.org/abs/2301.00001",
    "https://sub.arxiv.org/abs/2301.00001",
    "https://huggingface.co/abs/2301.00001",
    "https://alphaxiv.org/pdf/2301.00001",
    "ftp://arxiv.org/abs/2301.00001",
    "//arxiv.org/abs/2301.00001",
    # schemes and path tricks
    "javascript:alert(1)//arxiv.org/abs/2301.00001",
    "javascript://arxiv.org/abs/2301.00001",
    "https://arxiv.org/abs/../../2301.00001",
    "https://arxiv.org/abs/2301.00001/../../evil",
    "https://arxiv.org/abs/hep-th%2F9901001",
    "https://arxiv.org/abs%2F2301.00001",
    "https://arxiv.org/abs/2301.00001.pdf",
    "https://arxiv.org/list/cs.CL/recent",
    "https://arxiv.org/abs/",
    # versions
    "2301.00001v0",
    "2301.00001v01",
    "2301.00001v",
    "2301.00001V2",
    "https://arxiv.org/abs/2301.00001v0",
    # ids that cannot exist: months 00 and 13+, new style before 0704, four digits from 1501 and
    # five before it (arXiv's loose parse_arxiv_id finds 1203.12345; its Identifier refuses it),
    # old style outside 9108-0703, number zero
    "2513.00001",
    "2500.00001",
    "0612.1234",
    "0703.0001",
    "0001.0001",
    "2505.2265",
    "1501.0001",
    "1412.99999",
    "1203.12345",
    "1203.12345v12",
    "hep-ph/1203.12345v12",
    "2999.99999",
    "2505.00000",
    "0704.0000",
    "hep-th/9107001",
    "hep-th/9013001",
    "hep-th/9900001",
    "hep-th/0704001",
    "hep-th/2501001",
    "hep-th/9901000",
    "arXiv:2513.00001",
    "https://arxiv.org/abs/0612.1234",
    "https://arxiv.org/abs/hep-th/0704001",
    "https://huggingface.co/papers/2505.2265",
    # slashes: one trailing slash only, nothing below the id (arXiv's Identifier keeps it as "extra")
    "hep-th/9901001//",
    "https://arxiv.org/abs/hep-th/9901001//",
    "physics/0303098/static/icon.png",
    "https://arxiv.org/abs/2505.22653/x",
    "/hep-th/9901001",
    # DOIs: only 10.48550/arXiv. on doi.org or dx.doi.org, a canonical id, no version (none is minted)
    "10.48550/arXiv.2505.22653v2",
    "https://doi.org/10.48550/arXiv.2505.22653v2",
    "10.48550/arXiv.2513.00001",
    "10.48550/arXiv.2505.2265",
    "10.48550/arXiv.math.CO/0601001",
    "10.48550/arXiv.",
    "10.48550/2505.22653",
    "10.48551/arXiv.2505.22653",
    "10.1103/PhysRevD.59.126002",
    "10.48550/arXiv.2505.22653/",
    "10.48550/arXiv:2505.22653",
    "https://doi.org.evil.com/10.48550/arXiv.2505.22653",
    "https://evil.com/10.48550/arXiv.2505.22653",
    "https://www.doi.org/10.48550/arXiv.2505.22653",
    "https://sub.dx.doi.org/10.48550/arXiv.2505.22653",
    "https://doi.org:8080/10.48550/arXiv.2505.22653",
    "https://doi.org/abs/2505.22653",
    "https://arxiv.org/abs/10.48550/arXiv.2505.22653",
    "ftp://doi.org/10.48550/arXiv.2505.22653",
    "https://doi.org/10.48550/arXiv.2505.22653?x=1",
    "https://doi.org/10.48550%2FarXiv.2505.22653",
    "doi: 10.48550/arXiv.2505.22653",
    # id grammar: lengths, glue, archives
    "1" * 10_000,
    "2301." + "1" * 10_000,
    "12505.22653",
    "2505.226534",
    "2505.226",
    "x2505.22653",
    "2505.22653x",
    "2505_22653",
    "2505.22653 2505.22654",
    "hep-th/990100",
    "hep-th/99010011",
    "foo-bar/9901001",
    "hep-th.9901001",
    "arXiv: 2505.22653",
    "２５０５.２２６５３",
]


@pytest.mark.parametrize(("text", "arxiv_id", "version"), ACCEPTED)
def test_parse_ref_accepts(text: str, arxiv_id: str, version: int | None) -> None:
    """Every documented way of writing a reference parses to the canonical id and version, in chat too."""
    assert parse_ref(text) == ArxivRef(arxiv_id, version)
    assert find_refs(f"see {text.strip()} please") == [ArxivRef(arxiv_id, version)]


@pytest.mark.parametrize("text", REJECTED)
def test_parse_ref_rejects(text: str) -> None:
    """Hostile or malformed input raises InvalidReference, and chat extraction finds nothing in it."""
    with pytest.raises(InvalidReference):
        parse_ref(text)
    if " " not in text:
        assert find_refs(text) == []


def test_invalid_reference_message_is_short() -> None:
    """The error for a 10k-character input names it, truncated, in one line."""
    with pytest.raises(InvalidReference) as caught:
        parse_ref("9" * 10_000)
    assert len(str(caught.value)) < 200 and "\n" not in str(caught.value)


SLACK_MESSAGE = (
    "Two for Monday's reading group: <https://arxiv.org/abs/2505.22653v2|arxiv.org/abs/2505.22653v2> "
    "and <https://huggingface.co/papers/2401.04088>. Also arXiv:hep-th/9901001, and again "
    "<https://arxiv.org/pdf/2505.22653v2.pdf|the PDF>."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            SLACK_MESSAGE,
            [ArxivRef("2505.22653", 2), ArxivRef("2401.04088"), ArxivRef("hep-th/9901001")],
        ),
        (  # Discord suppressed embed, markdown link, parentheses, trailing punctuation
            "check <https://arxiv.org/abs/2312.00752> (also [this one](https://alphaxiv.org/abs/2310.06825v1)),"
            " then 2505.22653.",
            [ArxivRef("2312.00752"), ArxivRef("2310.06825", 1), ArxivRef("2505.22653")],
        ),
        (  # versioned and unversioned are different refs; repeats collapse
            "2505.22653 2505.22653v2 https://arxiv.org/abs/2505.22653 **2505.22653v2**",
            [ArxivRef("2505.22653"), ArxivRef("2505.22653", 2)],
        ),
        (  # code blocks and inline code are not requests
            "try this:\n```\nref = parse('https://arxiv.org/abs/1111.11111')\n```\n"
            "not `2222.22222` nor ``3333.33333`` but _2404.44444_",
            [ArxivRef("2404.44444")],
        ),
        (  # lists without spaces, quotes, CJK punctuation
            'summarize 2505.22653,2505.22654;"2505.22655" 看这个：2505.22656。',
            [ArxivRef(f"2505.2265{i}") for i in (3, 4, 5, 6)],
        ),
        (  # an unclosed fence is plain text, as Slack and Discord show it
            "```unclosed https://arxiv.org/abs/2505.22653",
            [ArxivRef("2505.22653")],
        ),
        (  # DOIs, pasted bare, linked by Slack, or in a Markdown link; the same paper once
            "cite 10.48550/arXiv.2505.22653 <https://doi.org/10.48550/arXiv.2401.04088> "
            "[HEP](https://dx.doi.org/10.48550/arXiv.hep-th/9901001) and arXiv:2505.22653",
            [ArxivRef("2505.22653"), ArxivRef("2401.04088"), ArxivRef("hep-th/9901001")],
        ),
        (  # ids that cannot exist are not references, however they are written
            "2513.00001 0612.1234 2505.2265 hep-th/0704001 arXiv:2513.00001 10.48550/arXiv.2505.22653v2",
            [],
        ),
        (  # glued to letters or digits, or hostile hosts: nothing
            "x2505.22653 12505.22653 2505.226534 arxiv.org.evil.com/abs/2301.00001 <@U123> &lt;!channel&gt;",
            [],
        ),
    ],
)
def test_find_refs_in_chat(text: str, expected: list[ArxivRef]) -> None:
    """References come out of realistic messages in order, once each, code excluded."""
    assert find_refs(text) == expected


def test_find_invalid_links() -> None:
    """Link-like words that name arXiv but are not references are reported once, valid ones never."""
    text = (
        "see arxiv.org.evil.com/abs/2301.00001 and <https://arxiv.org/abs/2301.00001v0|x> and "
        "https://arxiv.org/abs/2301.00001 and arXiv:2301.00001v0 and again arxiv.org.evil.com/abs/2301.00001 "
        "`https://arxiv.org/abs/9999.0000v0` https://arxiv.org/list/cs.CL/recent https://example.com/2301.00001"
    )
    assert find_invalid_links(text) == [
        "arxiv.org.evil.com/abs/2301.00001",
        "https://arxiv.org/abs/2301.00001v0",
        "arXiv:2301.00001v0",
    ]
    assert find_invalid_links(SLACK_MESSAGE) == []


def test_impossible_ids_in_links_are_reported_and_bare_numbers_are_not() -> None:
    """A link or arXiv:/DOI form with an impossible id gets the "not an arXiv link" reply; a bare number stays quiet."""
    text = (
        "arXiv:2513.00001 https://arxiv.org/abs/0612.1234 https://doi.org/10.48550/arXiv.2505.22653v2 "
        "10.48550/arXiv.2505.2265 hep-th/0704001 2505.2265 https://doi.org/10.48550/arXiv.2505.22653"
    )
    assert find_invalid_links(text) == [
        "arXiv:2513.00001",
        "https://arxiv.org/abs/0612.1234",
        "https://doi.org/10.48550/arXiv.2505.22653v2",
        "10.48550/arXiv.2505.2265",
    ]
    assert find_refs(text) == [ArxivRef("2505.22653")]


def _new_style_can_exist(yymm: str, number: str) -> bool:
    """arXiv's rule, as arithmetic: April 2007 on, months 1-12, four digits until 1412, five after, never 0."""
    yy, mm = int(yymm[:2]), int(yymm[2:])
    digits = 4 if (yy, mm) <= (14, 12) else 5
    return 1 <= mm <= 12 and (yy, mm) >= (7, 4) and len(number) == digits and int(number) > 0


def _old_style_can_exist(yymm: str, number: str) -> bool:
    """August 1991 to March 2007, months 1-12, number never 0."""
    yy, mm = int(yymm[:2]), int(yymm[2:])
    year = 1900 + yy if yy >= 91 else 2000 + yy
    return 1 <= mm <= 12 and (1991, 8) <= (year, mm) <= (2007, 3) and int(number) > 0


@given(st.from_regex(r"[0-9]{4}", fullmatch=True), st.from_regex(r"[0-9]{4,5}", fullmatch=True))
def test_new_style_grammar_matches_arxivs_rule(yymm: str, number: str) -> None:
    """The regex accepts a new-style id exactly when the arithmetic rule says it can exist."""
    expected = [ArxivRef(f"{yymm}.{number}")] if _new_style_can_exist(yymm, number) else []
    assert find_refs(f"{yymm}.{number}") == expected


@given(st.from_regex(r"[0-9]{4}", fullmatch=True), st.from_regex(r"[0-9]{3}", fullmatch=True))
def test_old_style_grammar_matches_arxivs_rule(yymm: str, number: str) -> None:
    """The regex accepts an old-style id exactly when the arithmetic rule says it can exist."""
    expected = [ArxivRef(f"hep-th/{yymm}{number}")] if _old_style_can_exist(yymm, number) else []
    assert find_refs(f"hep-th/{yymm}{number}") == expected


versions = st.none() | st.integers(1, 99)
new_ids = st.builds(
    lambda yymm, n, v: f"{yymm:04d}.{n:0{4 if yymm <= 1412 else 5}d}" + (f"v{v}" if v else ""),
    st.builds(lambda y, m: y * 100 + m, st.integers(7, 99), st.integers(1, 12)).filter(lambda yymm: yymm >= 704),
    st.integers(1, 9999),
    versions,
)
old_ids = st.builds(
    lambda a, yymm, n, v: f"{a}/{yymm:04d}{n:03d}" + (f"v{v}" if v else ""),
    st.sampled_from(["hep-th", "astro-ph", "math", "cond-mat", "quant-ph", "q-bio"]),
    st.builds(lambda y, m: y % 100 * 100 + m, st.integers(1991, 2007), st.integers(1, 12)).filter(
        lambda yymm: not 704 <= yymm <= 9107
    ),
    st.integers(1, 999),
    versions,
)
valid_ids = new_ids | old_ids
no_code = st.text(st.characters(blacklist_characters="`"), max_size=200)


@given(st.text())
def test_parse_ref_only_raises_invalid_reference(text: str) -> None:
    """parse_ref on arbitrary text returns a ref or raises InvalidReference, nothing else."""
    try:
        ref = parse_ref(text)
    except InvalidReference:
        return
    assert parse_ref(ref.versioned) == ref


@given(no_code, valid_ids, no_code)
def test_find_refs_finds_inserted_id(before: str, ref_text: str, after: str) -> None:
    """An id set apart by spaces in random (code-free) text is found, and every ref round-trips."""
    refs = find_refs(f"{before} {ref_text} {after}")
    assert parse_ref(ref_text) in refs
    for ref in refs:
        assert parse_ref(ref.versioned) == ref


@given(st.text(max_size=500))
def test_find_refs_round_trips(text: str) -> None:
    """Whatever find_refs returns on arbitrary text parses back to itself; invalid links are not refs."""
    for ref in find_refs(text):
        assert parse_ref(ref.versioned) == ref
    for word in find_invalid_links(text):
        with pytest.raises(InvalidReference):
            parse_ref(word)


@given(st.text("0123456789.v/:`<>|() -abshttparxiv.org\n", min_size=1, max_size=40))
def test_long_input_is_fast(chunk: str) -> None:
    """A 50k-character message built from a repeated hostile chunk is scanned within the deadline."""
    text = (chunk * (50_000 // len(chunk) + 1))[:50_000]
    for ref in find_refs(text):
        assert parse_ref(ref.versioned) == ref
    find_invalid_links(text)
    with pytest.raises(InvalidReference):
        parse_ref("arxiv.org/abs/" + text)
