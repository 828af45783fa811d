"""Errors whose message is safe to show a person: one line, naming the input and what to do.

Anything that is not a PaperboyError is a bug: it is logged with its traceback and the
person gets a short apology instead.
"""


class PaperboyError(Exception):
    """Base class: str(error) is a complete, user-safe sentence."""


class InvalidReference(PaperboyError):
    """Text that is not an arXiv reference (a bad host, a malformed id)."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(
            f"not an arXiv reference: {shown!r} (use an arXiv link, arXiv:ID, 2505.22653 or 10.48550/arXiv.2505.22653)"
        )
        self.text = text


class PaperNotFound(PaperboyError):
    """arXiv answered, consistently, that it has no such paper."""

    def __init__(self, arxiv_id: str) -> None:
        super().__init__(f"arXiv has no paper {arxiv_id} (check the id; if it is new, try again later)")
        self.arxiv_id = arxiv_id


class ArxivUnavailable(PaperboyError):
    """arXiv could not be reached or kept failing after retries (429, 503, timeouts, empty pages)."""


class ArxivRateLimited(ArxivUnavailable):
    """arXiv answered 429 after retries."""


class BadQuery(PaperboyError):
    """arXiv rejected a query or id list (an "Error" entry or HTTP 400)."""


class SummarizerFailed(PaperboyError):
    """The LLM could not produce a valid summary after retries (down, invalid output, truncated).

    `tokens` is what the failed attempts cost anyway: it counts against the daily budget.
    """

    def __init__(self, message: str, *, tokens: int = 0) -> None:
        super().__init__(message)
        self.tokens = tokens


class StorageUnavailable(PaperboyError):
    """The database could not be opened or migrated."""


class PublishError(PaperboyError):
    """A channel cannot be posted to (not found, not in channel, archived, no access, bad token): permanent."""


class LostClaim(PaperboyError):
    """Another process took over a run whose lease ran out: this one must not post it."""


class PlatformStartError(PaperboyError):
    """A chat platform cannot start (bad token, missing intent, unreachable); the message says what to do."""


class ConfigError(PaperboyError):
    """A bad configuration key or value; the message names the key."""


class LLMUnavailable(SummarizerFailed):
    """The LLM service failed, not one paper's answer: it timed out, was unreachable, kept answering 5xx
    or 429, or refused the key. These (and only these) count toward the LLM circuit breaker.

    `note` is a short reason for a summary card when there is a more useful one than "it failed".
    """

    def __init__(self, message: str, *, tokens: int = 0, note: str | None = None) -> None:
        super().__init__(message, tokens=tokens)
        self.note = note


class UsageError(PaperboyError):
    """A person's mistake in a command, an option or a setting: the message says which value and what to write."""
