"""arXiv's category ids (arxiv.org/category_taxonomy), to tell a mistyped `cat:` from a quiet day.

A static copy: a category arXiv adds later is reported as unknown only when a digest of it is empty,
as a hint, never as an error. Besides today's categories, the archives that are categories of their
own (astro-ph, hep-th, ...) and the retired ones older papers still carry (cmp-lg, solv-int, ...).
"""

from __future__ import annotations

import re

_GROUPS = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF PL "
    "RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn gen-ph "
    "geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_STANDALONE = (
    "astro-ph cond-mat gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph q-bio "
    # retired archives, still on their papers
    "acc-phys adap-org alg-geom ao-sci atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas dg-ga funct-an mtrl-th "
    "patt-sol plasm-ph q-alg solv-int supr-con"
)
CATEGORIES = frozenset(
    [f"{archive}.{sub}" for archive, subs in _GROUPS.items() for sub in subs.split()] + _STANDALONE.split()
)
ARCHIVES = frozenset([*_GROUPS, *(c.split(".")[0] for c in CATEGORIES)])
TAXONOMY_URL = "https://arxiv.org/category_taxonomy"

_CAT_TERM = re.compile(r'\bcat:("[^"]*"|[^\s()"]+)')


def is_category(value: str) -> bool:
    """An arXiv category id, or a wildcard over a known archive (`cs.*`)."""
    if value.endswith(".*"):
        return value[:-2] in ARCHIVES
    return value in CATEGORIES


def unknown_categories(query: str) -> list[str]:
    """The `cat:` values in an arXiv query that are not arXiv categories, in order, once each."""
    values = (m.strip('"') for m in _CAT_TERM.findall(query))
    return list(dict.fromkeys(v for v in values if not is_category(v)))


def unknown_category_line(value: str) -> str:
    """`cat:zz.XX is not an arXiv category`, with the right spelling when only the case is wrong."""
    spelled = [c for c in sorted(CATEGORIES) if c.lower() == value.lower()]
    hint = f"did you mean cat:{spelled[0]}?" if spelled else f"the list is at {TAXONOMY_URL}."
    return f"cat:{value} is not an arXiv category; {hint}"
