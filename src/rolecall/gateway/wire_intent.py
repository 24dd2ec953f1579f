"""role-model's advisory ``role_model.intent``: read off a request, checked against the inventory.

role-model's clients (its Pi and Codex adapters) classify a prompt and send what they think it is:
``{"role_model": {"contract_version": 1, "intent": {...}}}`` in the body, or the intent object as
JSON in an ``x-role-model-intent`` header (the body wins). Both spellings of the fields are read:
the short ones (``role``, ``task``, ``capabilities``, ``modalities``) and the classifier's
(``role_hint_id``, ``task_type``, ``preferred_capabilities``, ``required_modalities``).

The intent is advice. A value of the wrong JSON type is a 400 naming the field (the client is
broken); a value the inventory does not know (a role-model taxonomy role rolecall has not
configured), or a field this gateway does not read, is ignored and reported in the answer's
``x-rolecall-intent`` header. A known role and task become the request's role and task unless the
request (``rolecall.role``/``task``) or its alias set them, and only when they fit each other, so
advice never makes a request unroutable; known capabilities become preferred capabilities. The
``role_model`` object is never forwarded upstream.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson

if TYPE_CHECKING:
    from rolecall.inventory.inventory import Inventory

HEADER: Final = "x-role-model-intent"
RESPONSE_HEADER: Final = "x-rolecall-intent"
# field → (the name it stands for, the kind of value)
FIELDS: Final = {
    "role": ("role", "str"),
    "role_hint_id": ("role", "str"),
    "task": ("task", "str"),
    "task_type": ("task", "str"),
    "capabilities": ("capabilities", "strs"),
    "preferred_capabilities": ("capabilities", "strs"),
    "modalities": ("modalities", "strs"),
    "required_modalities": ("modalities", "strs"),
    "tool_classes": ("tool_classes", "strs"),
    "confidence": ("confidence", "unit"),
    "evidence": ("evidence", "strs"),
    "alternatives": ("alternatives", "alternatives"),
}
# fields of the classifier's intent that describe the classification itself: known, not used
INFORMATIONAL: Final = frozenset(
    {
        "taxonomy_version",
        "content_revision",
        "classification_contract_version",
        "classification_version",
        "source",
        "role_source",
        "task_action",
        "task_variant",
        "task_source",
        "task_confidence",
        "output_modalities",
        "context_tokens_estimate",
    }
)
ENVELOPE: Final = frozenset({"intent", "contract_version"})
# role-model taxonomy V1's modalities (what a request's content may be)
MODALITIES: Final = frozenset(
    {"text", "image", "audio", "video", "file", "structured_json", "tabular", "code_patch"}
    | {"document"}
)
MAX_NOTES: Final = 10
NOTE_CHARS: Final = 80


class IntentError(Exception):
    """An intent value of the wrong type; ``param`` names it (``role_model.intent.confidence``)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class Intent:
    role: str | None = None
    task: str | None = None
    capabilities: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    tool_classes: tuple[str, ...] = ()
    confidence: float | None = None
    evidence: tuple[str, ...] = ()
    alternatives: tuple[tuple[str | None, str | None], ...] = ()
    ignored_fields: tuple[str, ...] = ()


@dataclass(slots=True)
class IntentUse:
    """What the intent changed, and what of it was ignored and why."""

    role: str | None = None
    task: str | None = None
    capabilities: tuple[str, ...] = ()
    notes: list[dict[str, str]] = field(default_factory=list)

    def note(self, field_name: str, value: object, reason: str) -> None:
        if len(self.notes) < MAX_NOTES:
            text = value if isinstance(value, str) else json.dumps(value)
            text = text if len(text) <= NOTE_CHARS else text[:NOTE_CHARS] + "..."
            self.notes.append({"field": field_name, "value": text, "reason": reason})

    def header(self) -> str:
        """The ``x-rolecall-intent`` value: compact JSON, ASCII only (any client text escaped)."""
        used = {k: v for k, v in (("role", self.role), ("task", self.task)) if v is not None}
        if self.capabilities:
            used["capabilities"] = ",".join(self.capabilities)
        return json.dumps({"used": used, "ignored": self.notes}, separators=(",", ":"))


def parse_intent(extension: Any, headers: Mapping[str, str]) -> Intent | None:
    """The intent of a request (its ``role_model`` value, taken out of the body, or the header),
    None when it has none. Raises `IntentError` for a wrongly typed value."""
    if extension is None:
        raw = headers.get(HEADER)
        if raw is None:
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise IntentError(f"'{HEADER}' must be a JSON object", HEADER) from None
        return _intent(value, HEADER, ())
    if not isinstance(extension, dict):
        raise IntentError("'role_model' must be an object", "role_model")
    unknown = tuple(f"role_model.{k}" for k in extension if k not in ENVELOPE)
    version = extension.get("contract_version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int | str)):
        where = "role_model.contract_version"
        raise IntentError(f"'{where}' must be a number or a string", where)
    if extension.get("intent") is None:
        return Intent(ignored_fields=unknown) if unknown else None
    return _intent(extension["intent"], "role_model.intent", unknown)


def _intent(value: Any, where: str, unknown: tuple[str, ...]) -> Intent:
    if not isinstance(value, dict):
        raise IntentError(f"'{where}' must be an object", where)
    values: dict[str, Any] = {}
    ignored = list(unknown)
    for key, item in value.items():
        spec = FIELDS.get(key)
        if spec is None:
            if key not in INFORMATIONAL:
                ignored.append(f"{where}.{key}")
            continue
        name, kind = spec
        if item is not None:  # both spellings are checked; the first given is used
            values.setdefault(name, _checked(kind, item, f"{where}.{key}"))
    return Intent(**values, ignored_fields=tuple(ignored))


def _checked(kind: str, value: Any, where: str) -> Any:
    if kind == "str":
        if not isinstance(value, str):
            raise IntentError(f"'{where}' must be a string", where)
        return value
    if kind == "strs":
        if isinstance(value, str):  # one value for a list of one
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise IntentError(f"'{where}' must be an array of strings", where)
        return tuple(value)
    if kind == "unit":
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not number_ok or not math.isfinite(value) or not 0 <= value <= 1:
            raise IntentError(f"'{where}' must be a number between 0 and 1", where)
        return float(value)
    if not isinstance(value, list):
        raise IntentError(f"'{where}' must be an array of objects", where)
    return tuple(_alternative(item, f"{where}[{i}]") for i, item in enumerate(value))


def _alternative(value: Any, where: str) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        raise IntentError(f"'{where}' must be an object", where)
    found: dict[str, str] = {}
    for key in ("role", "role_hint_id", "task", "task_type"):
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str):
            raise IntentError(f"'{where}.{key}' must be a string", f"{where}.{key}")
        found.setdefault(FIELDS[key][0], item)
    return found.get("role"), found.get("task")


def apply_intent(
    intent: Intent, inventory: Inventory, role: str | None, task: str | None
) -> IntentUse:
    """What of ``intent`` the request routes with, given the ``role`` and ``task`` the request or
    its alias already set (those win). The intent's own (role, task), then its alternatives in
    order: the first that the inventory knows and that fits is used."""
    use = IntentUse()
    for name in intent.ignored_fields:
        use.note(name, "", "unknown field")
    choices = [(intent.role, intent.task), *intent.alternatives]
    for i, (want_role, want_task) in enumerate(choices):
        where = "role_model.intent" if i == 0 else f"role_model.intent.alternatives[{i - 1}]"
        picked = _choice(use, inventory, where, (role, task), (want_role, want_task))
        if picked is not None:
            use.role, use.task = picked
            break
    _capabilities(use, intent, inventory)
    for modality in intent.modalities:
        if modality not in MODALITIES:
            use.note("role_model.intent.modalities", modality, "unknown modality")
    return use


def _choice(
    use: IntentUse,
    inventory: Inventory,
    where: str,
    fixed: tuple[str | None, str | None],
    wanted: tuple[str | None, str | None],
) -> tuple[str | None, str | None] | None:
    """(role, task) to add from one choice, or None (with notes) when it adds nothing usable."""
    role, task = fixed
    want_role, want_task = wanted
    if want_role is not None and want_role not in inventory.roles:
        use.note(f"{where}.role", want_role, "unknown role")
        want_role = None
    if want_task is not None and want_task not in inventory.tasks:
        use.note(f"{where}.task", want_task, "unknown task")
        want_task = None
    if want_role is not None and role is not None and want_role != role:
        use.note(f"{where}.role", want_role, "the request or its alias sets the role")
        want_role = None
    if want_task is not None and task is not None and want_task != task:
        use.note(f"{where}.task", want_task, "the request or its alias sets the task")
        want_task = None
    if want_role is None and want_task is None:
        return None
    new_role = role if role is not None else want_role
    new_task = task if task is not None else want_task
    if not _fits(inventory, new_role, new_task):
        use.note(where, f"{new_role}/{new_task}", "the role does not perform the task")
        return None
    return (want_role, want_task)


def _fits(inventory: Inventory, role_id: str | None, task_type: str | None) -> bool:
    if role_id is None or task_type is None:
        return True
    role, task = inventory.roles[role_id], inventory.tasks[task_type]
    if task_type not in role.task_types_supported:
        return False
    return not task.allowed_roles or role_id in task.allowed_roles


def _capabilities(use: IntentUse, intent: Intent, inventory: Inventory) -> None:
    if not intent.capabilities:
        return
    known: set[str] = set()
    for endpoint in inventory.endpoints.values():
        known.update(endpoint.declared.capabilities)
    kept = []
    for capability in intent.capabilities:
        if capability in known:
            kept.append(capability)
        else:
            use.note("role_model.intent.capabilities", capability, "no endpoint declares it")
    use.capabilities = tuple(dict.fromkeys(kept))
