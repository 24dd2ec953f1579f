"""What a benchmark run does: `RunPlan`, stored with the run so `resume` finishes it exactly.

A fixed run answers every case of ``items`` on every endpoint. An adaptive run (``adaptive`` set,
`rolecall.benchmark.adaptive`) takes ``items`` as its candidates and lets each endpoint answer only
as many as its ranking needs; ``item_stats`` (difficulty, discrimination, flat per case key, from
the stored evidence when the run was planned) and ``anchors`` (endpoints not in the run whose
stored scores it is compared with) are kept so a resumed run chooses as the first start did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rolecall.benchmark.adaptive import AdaptiveSettings, Slot
from rolecall.benchmark.cases import BenchCase
from rolecall.inventory.inventory import Inventory, endpoint_version, membership_revision_for

__all__ = ["RunPlan"]

ItemStat = tuple[float, float, bool]  # (difficulty, discrimination, flat)


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    mode: str
    endpoint_ids: tuple[str, ...]
    judge_id: str | None
    items: tuple[tuple[str, BenchCase], ...]
    spend_cap_usd: float | None = None
    concurrency: int = 2
    adaptive: AdaptiveSettings | None = None
    anchors: tuple[str, ...] = ()
    item_stats: tuple[tuple[str, ItemStat], ...] = ()

    @property
    def overlap(self) -> bool:
        return self.judge_id is not None and self.judge_id in self.endpoint_ids

    @property
    def per_endpoint(self) -> int:
        """The most cases one endpoint can answer."""
        cap = None if self.adaptive is None else self.adaptive.max_cases
        return len(self.items) if cap is None else min(cap, len(self.items))

    @property
    def total(self) -> int:
        return self.per_endpoint * len(self.endpoint_ids)

    def slots(self) -> list[Slot]:
        """The candidates of an adaptive run, with what the evidence said of them."""
        stats = dict(self.item_stats)
        out = []
        for suite, case in self.items:
            key = f"{suite}/{case.id}"
            b, a, flat = stats.get(key, (None, None, False))
            out.append(Slot(key, case.task, case.bucket, b, a, flat))
        return out

    def config(self, inventory: Inventory) -> dict[str, Any]:
        endpoints = {
            eid: {
                "local": inventory.endpoints[eid].is_local,
                "model": inventory.endpoints[eid].model,
                "version": endpoint_version(inventory.endpoints[eid].identity),
                "revision": membership_revision_for(inventory, eid),
            }
            for eid in self.endpoint_ids
        }
        config: dict[str, Any] = {
            "endpoints": list(self.endpoint_ids),
            "endpoint_meta": endpoints,
            "judge": self.judge_id,
            "judge_overlap": self.overlap,
            "spend_cap_usd": self.spend_cap_usd,
            "concurrency": self.concurrency,
            "cases": [{"suite": s, "case": c.model_dump(mode="json")} for s, c in self.items],
        }
        if self.adaptive is not None:
            config["adaptive"] = {
                **self.adaptive.to_dict(),
                "anchors": list(self.anchors),
                "item_stats": {k: list(v) for k, v in self.item_stats},
            }
        return config

    @classmethod
    def from_config(cls, run_id: str, mode: str, config: dict[str, Any]) -> RunPlan:
        items = tuple((i["suite"], BenchCase.model_validate(i["case"])) for i in config["cases"])
        adaptive = config.get("adaptive")
        return cls(
            run_id=run_id,
            mode=mode,
            endpoint_ids=tuple(config["endpoints"]),
            judge_id=config.get("judge"),
            items=items,
            spend_cap_usd=config.get("spend_cap_usd"),
            concurrency=int(config.get("concurrency", 2)),
            adaptive=None if adaptive is None else AdaptiveSettings.from_dict(adaptive),
            anchors=tuple((adaptive or {}).get("anchors", ())),
            item_stats=tuple(
                (k, (float(v[0]), float(v[1]), bool(v[2])))
                for k, v in (adaptive or {}).get("item_stats", {}).items()
            ),
        )
