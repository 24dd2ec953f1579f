"""What a limit is: a scope, a metric, an amount in integer units, and a window.

Amounts are integers so counters add up exactly in Redis and SQL alike: micro-USD for ``usd``,
tokens for ``tokens`` and ``tokens_per_min``, requests for ``requests_per_min``. Calendar windows
(``day``, ``month``) are UTC and end at the next midnight or the first of the next month; a
``rolling:N`` window is the last N seconds; the per-minute metrics always use ``rolling:60``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, get_args

__all__ = [
    "METRICS",
    "MICRO_USD",
    "RATE_METRICS",
    "SCOPE_KINDS",
    "Limit",
    "LimitSpec",
    "Metric",
    "ScopeKind",
    "Span",
    "Window",
]

Metric = Literal["usd", "tokens", "requests_per_min", "tokens_per_min"]
ScopeKind = Literal["key", "team", "role", "global"]
METRICS: Final[tuple[Metric, ...]] = get_args(Metric)
SCOPE_KINDS: Final[tuple[ScopeKind, ...]] = get_args(ScopeKind)
RATE_METRICS: Final = frozenset({"requests_per_min", "tokens_per_min"})
MICRO_USD: Final = 1_000_000  # micro-USD per USD
MAX_ROLLING_S: Final = 366 * 86_400


@dataclass(frozen=True, slots=True)
class Span:
    """One window instance: the suffix of its counter's name and when it resets (calendar
    windows; 0 for a rolling window, which never resets as a whole)."""

    suffix: str
    reset_ms: int


@dataclass(frozen=True, slots=True)
class Window:
    """``day`` or ``month`` (UTC calendar), or ``rolling`` over the last ``seconds``."""

    kind: Literal["day", "month", "rolling"]
    seconds: int = 0

    def __post_init__(self) -> None:
        if self.kind == "rolling" and not 1 <= self.seconds <= MAX_ROLLING_S:
            raise ValueError(f"rolling window must be 1 to {MAX_ROLLING_S} seconds")

    @classmethod
    def parse(cls, text: str) -> Window:
        """``day``, ``month`` or ``rolling:SECONDS``; `ValueError` saying what is accepted."""
        if text == "day":
            return cls("day")
        if text == "month":
            return cls("month")
        kind, _, seconds = text.partition(":")
        if kind == "rolling" and seconds.isdigit() and seconds[0] != "0":
            return cls("rolling", int(seconds))
        raise ValueError(
            f"expected 'day', 'month' or 'rolling:SECONDS' (e.g. rolling:3600), got {text!r}"
        )

    @property
    def rolling(self) -> bool:
        return self.kind == "rolling"

    @property
    def window_ms(self) -> int:
        """A rolling window's length (0 for a calendar window)."""
        return self.seconds * 1000

    def span(self, now_ms: int) -> Span:
        """The window instance that contains ``now_ms``."""
        if self.kind == "rolling":
            return Span(f"r{self.seconds}", 0)
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        if self.kind == "day":
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            reset_day = datetime.fromordinal(start.toordinal() + 1).replace(tzinfo=UTC)
            return Span(f"d{start:%Y%m%d}", int(reset_day.timestamp() * 1000))
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        reset = datetime(year, month, 1, tzinfo=UTC)
        return Span(f"m{now:%Y%m}", int(reset.timestamp() * 1000))

    def __str__(self) -> str:
        return f"rolling:{self.seconds}" if self.kind == "rolling" else self.kind


PER_MINUTE: Final = Window("rolling", 60)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``amount`` (integer units of ``metric``) per ``window`` for one scope."""

    scope: ScopeKind
    scope_id: str
    metric: Metric
    amount: int
    window: Window

    @property
    def rate(self) -> bool:
        """A per-minute rate (refused as ``rate_limit_exceeded``), not a budget."""
        return self.metric in RATE_METRICS

    def counter(self, span: Span) -> str:
        """The counter's name in a store: scope, metric and window instance (``:`` in an id is
        escaped so two scopes never share a name)."""
        scope_id = self.scope_id.replace("%", "%25").replace(":", "%3A")
        return f"{self.scope}:{scope_id}:{self.metric}:{span.suffix}"

    def describe(self) -> str:
        """For people: ``key key_1a2b's USD budget per month (5.00 USD)``."""
        who = "all requests" if self.scope == "global" else f"{self.scope} {self.scope_id}"
        if self.metric == "requests_per_min":
            return f"{who}: {self.amount} requests per minute"
        if self.metric == "tokens_per_min":
            return f"{who}: {self.amount} tokens per minute"
        per = "" if self.window.kind == "rolling" else "per "
        if self.metric == "usd":
            return f"{who}: budget of {usd_text(self.amount)} USD {per}{self.window}"
        return f"{who}: budget of {self.amount} tokens {per}{self.window}"


def usd_text(micro_usd: int) -> str:
    """Micro-USD as dollars for messages: ``5.00``, ``0.000125``."""
    text = f"{micro_usd / MICRO_USD:.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """The limits one scope carries, as written (``budget_usd: 5, per: month, rpm: 60``): USD
    and token budgets over ``per``, requests and tokens per minute. None: no such limit."""

    budget_micro_usd: int | None = None
    budget_tokens: int | None = None
    per: Window = Window("month")
    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("budget_micro_usd", "budget_tokens", "rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name}: must be a whole number, got {value!r}")
            if value is not None and value < (1 if name in ("rpm", "tpm") else 0):
                raise ValueError(f"{name}: must not be {'below 1' if 'pm' in name else 'negative'}")

    @property
    def empty(self) -> bool:
        return (
            self.budget_micro_usd is None
            and self.budget_tokens is None
            and self.rpm is None
            and self.tpm is None
        )

    def limits(self, scope: ScopeKind, scope_id: str) -> tuple[Limit, ...]:
        """This spec's limits for one scope: rates first (they refuse before budgets)."""
        found: list[Limit] = []
        if self.rpm is not None:
            found.append(Limit(scope, scope_id, "requests_per_min", self.rpm, PER_MINUTE))
        if self.tpm is not None:
            found.append(Limit(scope, scope_id, "tokens_per_min", self.tpm, PER_MINUTE))
        if self.budget_tokens is not None:
            found.append(Limit(scope, scope_id, "tokens", self.budget_tokens, self.per))
        if self.budget_micro_usd is not None:
            found.append(Limit(scope, scope_id, "usd", self.budget_micro_usd, self.per))
        return tuple(found)

    def to_dict(self) -> dict[str, object]:
        """The spec as shown by the CLI and the admin API (USD as a number of dollars)."""
        shown: dict[str, object] = {}
        if self.budget_micro_usd is not None:
            shown["budget_usd"] = self.budget_micro_usd / MICRO_USD
        if self.budget_tokens is not None:
            shown["budget_tokens"] = self.budget_tokens
        if self.budget_micro_usd is not None or self.budget_tokens is not None:
            shown["per"] = str(self.per)
        if self.rpm is not None:
            shown["rpm"] = self.rpm
        if self.tpm is not None:
            shown["tpm"] = self.tpm
        return shown


NO_LIMITS: Final = LimitSpec()
