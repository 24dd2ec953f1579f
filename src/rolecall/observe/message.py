"""What the recorder hands the record writer, and the writer's answer.

Owns `WriterMessage` (observed requests, already encoded on the event loop, plus what profile
aggregation needs) and the encoding of the answer (`reply_bytes`, `reply_from_bytes`). The writer
builds the rows of every request in a message (`rolecall.observe.rows`) and stores them in one
transaction; see `rolecall.storage.record_writer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from rolecall.observe.observation import Observation, decode_observations, encode_observations
from rolecall.observe.profile_refresh import RefreshResult
from rolecall.observe.rows import RecordBatch, build_batch
from rolecall.profiles import Sample
from rolecall.protocol import ObservedPerformanceProfile

__all__ = ["RecordBatch", "WriterMessage", "reply_bytes", "reply_from_bytes"]


@dataclass(slots=True)
class WriterMessage:
    """What one write stores: observed requests already encoded (each request is observed and
    encoded on the event loop right after its response, so whoever hands them on only joins
    bytes), the aggregation facts of their samples' endpoints, and samples stored by someone
    else (a benchmark, in its own transaction) that only feed profiles."""

    parts: list[bytes] = field(default_factory=list)  # encode_observations() each
    # endpoint_id → (endpoint version, membership revision)
    facts: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    observed: list[Sample] = field(default_factory=list)
    # endpoints whose sample windows must be read again (another process stored samples)
    reload: list[str] = field(default_factory=list)
    backlog: int = 0  # requests still waiting in the gateway behind this message

    @property
    def requests(self) -> int:
        """Requests this message and the gateway's backlog hold: how far behind the writer is."""
        return len(self.parts) + self.backlog

    @classmethod
    def of(
        cls,
        observations: list[Observation],
        facts: dict[str, tuple[str, str | None]] | None = None,
    ) -> WriterMessage:
        return cls([encode_observations(observations)], facts or {})

    def to_bytes(self) -> bytes:
        """A head line (facts, observed samples), then one line per part (orjson output holds no
        newline)."""
        head = {
            "facts": self.facts,
            "observed": self.observed,
            "reload": self.reload,
            "backlog": self.backlog,
        }
        return b"\n".join([orjson.dumps(head), *self.parts])

    @classmethod
    def from_bytes(cls, data: bytes) -> WriterMessage:
        head, *parts = data.split(b"\n")
        decoded = orjson.loads(head)
        facts = {eid: (version, revision) for eid, (version, revision) in decoded["facts"].items()}
        observed = [Sample(**s) for s in decoded["observed"]]
        reload = [str(e) for e in decoded.get("reload", [])]
        return cls(parts, facts, observed, reload, int(decoded.get("backlog", 0)))

    def batch(self) -> RecordBatch:
        """The rows of every observed request in the message, as one batch."""
        return build_batch(o for part in self.parts for o in decode_observations(part))


def reply_bytes(result: RefreshResult) -> bytes:
    profiles = [p.model_dump(mode="json", exclude_none=True) for p in result.profiles]
    return orjson.dumps({"profiles": profiles, "next_due_s": result.next_due_s})


def reply_from_bytes(data: bytes) -> RefreshResult:
    """The writer process's answer; raises RuntimeError with its message when it failed."""
    reply = orjson.loads(data)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    profiles = [ObservedPerformanceProfile.model_validate(p) for p in reply["profiles"]]
    return RefreshResult(profiles, reply["next_due_s"])
