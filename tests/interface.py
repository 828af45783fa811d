"""What INTERFACE.md promises about `--format json`, shared by the tests that check it."""

PAPER_KEYS = {
    "arxiv_id", "version", "title", "authors", "abstract", "comment", "journal_ref", "primary_category",
    "categories", "published", "updated", "links", "summary",
    "code_links",  # an extra key (INTERFACE.md welcomes them): the code and project pages the paper names
    "figures",  # INTERFACE.md "Reading the paper": the lead first, [] when none
    "source",  # INTERFACE.md "Reading the paper": {"kind", "url", "license"}, what the summary was written from
    "why", "score",  # INTERFACE.md "A channel's taste": why a digest picked it (or null), and its score
}  # fmt: skip
SUMMARY_KEYS = {
    "language", "tldr", "takeaways", "abstract_translation", "generator", "model", "cached",
    "evidence",  # INTERFACE.md "Reading the paper": one per takeaway, {"quote", "anchor_url"} or null
}  # fmt: skip
