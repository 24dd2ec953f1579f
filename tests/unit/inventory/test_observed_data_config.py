"""``routing.observed_data``: off by default with the spec's defaults; a bad value is an error
naming its key path."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.inventory.config import parse_inventory


def observed(section: dict[str, Any]) -> dict[str, Any]:
    return {"routing": {"observed_data": section}}


def test_defaults_are_off_with_the_specs_values() -> None:
    config = parse_inventory({}).routing.observed_data
    decay, sla = config.recency_decay, config.throughput_sla
    assert (decay.enabled, sla.enabled) == (False, False)
    halflives = (decay.quality_s, decay.latency_s, decay.throughput_s, decay.reliability_s)
    assert halflives == (900, 300, 120, 600)
    assert decay.cost_s == 1800
    assert (sla.min_tokens_per_sec, sla.penalty_s, sla.penalty_factor) == (24.0, 600, 0.5)


def test_settings_are_read() -> None:
    config = parse_inventory(
        observed(
            {
                "recency_decay": {"enabled": True, "quality_s": 3600},
                "throughput_sla": {"enabled": True, "min_tokens_per_sec": 10, "penalty_factor": 0},
            }
        )
    ).routing.observed_data
    assert config.recency_decay.quality_s == 3600
    assert config.throughput_sla.min_tokens_per_sec == 10
    assert config.throughput_sla.penalty_factor == 0


@pytest.mark.parametrize(
    ("section", "path"),
    [
        (
            {"throughput_sla": {"penalty_factor": 2}},
            "routing.observed_data.throughput_sla.penalty_factor",
        ),
        (
            {"throughput_sla": {"penalty_factor": -0.1}},
            "routing.observed_data.throughput_sla.penalty_factor",
        ),
        (
            {"throughput_sla": {"min_tokens_per_sec": 0}},
            "routing.observed_data.throughput_sla.min_tokens_per_sec",
        ),
        ({"throughput_sla": {"penalty_s": -1}}, "routing.observed_data.throughput_sla.penalty_s"),
        ({"recency_decay": {"latency_s": 0}}, "routing.observed_data.recency_decay.latency_s"),
        ({"recency_decay": {"quality_s": "soon"}}, "routing.observed_data.recency_decay.quality_s"),
        ({"recency_decay": {"halflife": 10}}, "routing.observed_data.recency_decay.halflife"),
        ({"throughput_sla": {"enabled": "maybe"}}, "routing.observed_data.throughput_sla.enabled"),
    ],
)
def test_a_bad_value_names_its_key(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory(observed(section))
    assert err.value.path == path
