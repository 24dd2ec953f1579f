"""Which text an exclusion's ``detail`` carries: rolecall's own, or role-model's canonical one.

rolecall's eligibility rules write details that name the evidence (``... (8000 > 4096 tokens)``,
``... (missing: vision)``): what an operator needs to act. role-model's conformance harness
compares ``detail`` texts exactly, and its router writes one fixed sentence per exclusion code,
whatever the candidate. The ``role-model`` option (``rolecall conformance --exact-details``,
``rolecall route --exact-details``, ``routing.policy.detail_texts: role-model``, `Router`'s
``detail_texts``) swaps each detail for that sentence, so decisions compare equal to role-model's.

The table is keyed by code, never by case: one text per code, taken from role-model's written
semantics (its golden fixtures and reason-code taxonomy; docs/protocol.md §Exclusion details).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

from rolecall.protocol import ExclusionCode

__all__ = [
    "DETAIL_TEXTS",
    "REFINED_DETAILS",
    "ROLE_MODEL_DETAILS",
    "DetailTexts",
    "role_model_detail",
    "role_model_details",
]

DetailTexts = Literal["rolecall", "role-model"]
DETAIL_TEXTS: Final[tuple[DetailTexts, ...]] = get_args(DetailTexts)

ROLE_MODEL_DETAILS: Final[Mapping[ExclusionCode, str]] = {
    "ACCOUNT_DISABLED": "Endpoint account is disabled.",
    "AUTH_UNAVAILABLE": "Endpoint authentication is unavailable for routing/execution.",
    "BUDGET_EXCEEDED": "Endpoint cost exceeds the request budget.",
    "CAPABILITY_MISSING": "Endpoint is missing a required capability.",
    "CONTEXT_TOO_SMALL": "Endpoint context window is too small for the request.",
    "DEPLOYMENT_CLASS_MISMATCH": "Endpoint deployment class does not satisfy the request.",
    "ENTITLEMENT_MISSING": "Endpoint is missing a required entitlement.",
    "FORBIDDEN_CAPABILITY_PRESENT": (
        "Endpoint exposes a capability forbidden by the requested role."
    ),
    "MODALITY_UNSUPPORTED": "Endpoint does not support all required modalities.",
    "PACKAGE_NOT_INSTALLED": "Endpoint package is not installed.",
    "POLICY_DENY_ENDPOINT": "Endpoint is denied by routing policy.",
    "POLICY_DENY_REMOTE": "Remote endpoints are denied by routing policy.",
    "PROVIDER_OFFLINE": "Endpoint provider is offline.",
    "QUOTA_EXHAUSTED": "Endpoint quota is exhausted.",
    "REGION_DISALLOWED": "Endpoint region is disallowed for the current account or request.",
    "REVOKED": "Endpoint has been revoked.",
    "ROLE_BINDING_CAPABILITY_MISSING": (
        "Endpoint role binding does not allow all required capabilities for this request."
    ),
    "ROLE_BINDING_DISABLED": "Endpoint role binding is disabled.",
    "ROLE_BINDING_INACTIVE": "Endpoint role binding is inactive.",
    "ROLE_BINDING_TASK_NOT_ALLOWED": (
        "Endpoint role binding does not allow the requested task type."
    ),
    "ROLE_NOT_ALLOWED": "Requested role is not allowed for this task.",
    "TASK_NOT_SUPPORTED_BY_ROLE": "Requested task is not supported by the requested role.",
    "TOOLS_UNSUPPORTED": "Endpoint does not support tool calling.",
    "VARIANT_INCOMPATIBLE": "Endpoint variant is incompatible with the request.",
}
"""One canonical detail per exclusion code; `tests/unit/routing/test_detail_texts.py` checks it
covers every code of the schema."""


def role_model_detail(code: ExclusionCode) -> str:
    """role-model's detail text for ``code`` (a code the schema gains later gets role-model's own
    fallback form)."""
    return ROLE_MODEL_DETAILS.get(code) or f"Endpoint exclusion: {code}."


# A rule that reports an existing code under its own name (eligibility.REFINEMENTS) keeps a fixed
# sentence of its own, found by its detail's opening words: the code's sentence alone would hide
# which policy excluded the endpoint. role-model has no such rule, so no golden text is at stake.
REFINED_DETAILS: Final[tuple[tuple[str, str], ...]] = (
    (
        "Difficulty ceiling ",
        "Endpoint is denied by routing policy: its difficulty ceiling is below the request's "
        "difficulty.",
    ),
)


def _canonical(code: ExclusionCode, detail: str) -> str:
    for opening, text in REFINED_DETAILS:
        if detail.startswith(opening):
            return text
    return role_model_detail(code)


def role_model_details(
    exclusions: tuple[tuple[ExclusionCode, str], ...],
) -> tuple[tuple[ExclusionCode, str], ...]:
    """``exclusions`` with each detail replaced by role-model's text for its code (a refining
    rule's by its own fixed sentence)."""
    return tuple((code, _canonical(code, detail)) for code, detail in exclusions)
