"""What the spool tests read back: every record a reader can claim, each claim committed."""

from __future__ import annotations

from rolecall.storage.spool_reader import SpoolReader


def claim_all(reader: SpoolReader) -> list[bytes]:
    """Claim and commit until the spool holds nothing more; the parts in claim order."""
    parts: list[bytes] = []
    while (claim := reader.claim()) is not None:
        parts += claim.parts
        claim.commit()
        if not claim.more:
            break
    return parts
