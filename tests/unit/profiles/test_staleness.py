"""Membership revisions and the re-benchmark trigger."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rolecall.profiles import (
    Sample,
    aggregate_profile,
    membership_revision,
    needs_rebenchmark,
    partition_samples,
)
from rolecall.protocol import EndpointIdentity, RoleBinding

from .builders import ENDPOINT, NOW, VERSION, bench, sample

IDENTITY: dict[str, Any] = {
    "endpoint_id": ENDPOINT,
    "endpoint_kind": "local_engine",
    "provider_kind": "gguf",
    "serving_source": "local-process",
    "model_id": "llama-3-8b-instruct",
    "runtime_version": "llama.cpp-b3000",
    "quantization": "Q4_K_M",
    "endpoint_version": VERSION,
}


def _binding(binding_id: str = "b1", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "binding_id": binding_id,
        "role_id": "coder",
        "endpoint_id": ENDPOINT,
        "status": "active",
        "policy_overrides": {},
        "effective_capabilities": ["code.edit", "chat"],
        "effective_task_types": ["coder.edit"],
    }
    fields.update(overrides)
    return fields


BASE = membership_revision(IDENTITY, [_binding("b1"), _binding("b2", role_id="chat")])


def test_revision_is_sixteen_hex_chars_and_stable() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", BASE)
    assert membership_revision(IDENTITY, [_binding("b1"), _binding("b2", role_id="chat")]) == BASE


def test_order_and_unset_fields_do_not_matter() -> None:
    reordered_identity = dict(reversed(list(IDENTITY.items())))
    bindings = [
        _binding("b2", role_id="chat", effective_capabilities=["chat", "code.edit"]),
        dict(reversed(list(_binding("b1").items()))),
    ]
    assert membership_revision({**reordered_identity, "region": None}, bindings) == BASE


@pytest.mark.parametrize(
    ("identity", "bindings"),
    [
        ({**IDENTITY, "model_id": "llama-3.1-8b-instruct"}, None),
        ({**IDENTITY, "quantization": "Q8_0"}, None),
        ({**IDENTITY, "endpoint_version": "v2"}, None),
        ({**IDENTITY, "region": "local"}, None),
        (None, [_binding("b1", status="disabled"), _binding("b2", role_id="chat")]),
        (None, [_binding("b1", role_id="reviewer"), _binding("b2", role_id="chat")]),
        (None, [_binding("b1", effective_task_types=[]), _binding("b2", role_id="chat")]),
        (None, [_binding("b1")]),
        (None, [_binding("b1"), _binding("b2", role_id="chat"), _binding("b3")]),
    ],
)
def test_material_changes_change_the_revision(
    identity: dict[str, Any] | None, bindings: list[dict[str, Any]] | None
) -> None:
    changed = membership_revision(
        identity or IDENTITY, bindings or [_binding("b1"), _binding("b2", role_id="chat")]
    )
    assert changed != BASE


def test_policy_overrides_do_not_change_the_revision() -> None:
    bindings = [
        _binding("b1", policy_overrides={"max_latency_ms": 10}),
        _binding("b2", role_id="chat"),
    ]
    assert membership_revision(IDENTITY, bindings) == BASE


def test_accepts_protocol_model_dumps() -> None:
    identity = EndpointIdentity.model_validate(IDENTITY).model_dump()
    bindings = [
        RoleBinding.model_validate(_binding("b1")).model_dump(),
        RoleBinding.model_validate(_binding("b2", role_id="chat")).model_dump(),
    ]
    assert membership_revision(identity, bindings) == BASE


def test_unserialisable_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="JSON"):
        membership_revision({"model_id": object()}, [])


def _rebench_state(samples: list[Sample]) -> tuple[bool, bool]:
    """(aggregate exists, needs re-benchmark) under the current revision ``cur``."""
    kwargs: dict[str, Any] = {
        "endpoint_id": ENDPOINT,
        "endpoint_version": VERSION,
        "membership_revision": "cur",
    }
    aggregate = aggregate_profile(samples, now_ms=NOW, **kwargs)
    evidence = aggregate if aggregate is not None else partition_samples(samples, **kwargs)
    return aggregate is not None, needs_rebenchmark(evidence)


def test_needs_rebenchmark() -> None:
    old = bench(0.9, membership_revision="old")
    fresh = bench(0.8, membership_revision="cur")
    assert _rebench_state([old]) == (False, True)
    assert _rebench_state([old, sample()]) == (True, True)
    assert _rebench_state([old, fresh]) == (True, False)
    assert _rebench_state([fresh]) == (True, False)
    assert _rebench_state([sample()]) == (True, False)
    assert _rebench_state([]) == (False, False)
    assert needs_rebenchmark(None) is False


def test_role_change_marks_recorded_benchmark_stale() -> None:
    before = BASE
    samples = [bench(0.9, membership_revision=before), sample()]
    after = membership_revision(IDENTITY, [_binding("b1"), _binding("b2", role_id="reviewer")])
    aggregate = aggregate_profile(
        samples,
        endpoint_id=ENDPOINT,
        endpoint_version=VERSION,
        now_ms=NOW,
        membership_revision=after,
    )
    assert aggregate is not None
    assert aggregate.stale_samples == 1
    assert aggregate.profile.judge_score is None
    assert needs_rebenchmark(aggregate)
