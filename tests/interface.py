"""What INTERFACE.md promises about `--format json`, shared by the tests that check it."""

PAPER_KEYS = {
    "arxiv_id", "version", "title", "authors", "abstract", "comment", "journal_ref", "primary_category",
    "categories", "published", "updated", "links", "summary",
}  # fmt: skip
SUMMARY_KEYS = {"language", "tldr", "takeaways", "abstract_translation", "generator", "model", "cached"}
