"""The protocol's baseline roles and tasks, shipped as defaults.

The roles and tasks, and the binding statuses: docs/protocol.md §Baseline roles and tasks.

Operators can add roles and tasks, or replace these by id, in ``rolecall.yaml``.
"""

from __future__ import annotations

from typing import Final

from rolecall.protocol import RoleDefinition, TaskDefinition, ToolPolicy

# (task_type, description, required capabilities, allowed roles)
_TASKS: Final = (
    ("text.chat", "General conversation.", ["text.chat"], ["general.chat"]),
    ("code.edit", "Patch-oriented code edits.", ["code.edit"], ["coder.patch", "coder.review"]),
    (
        "tools.function_calling",
        "Tool orchestration with function calls.",
        ["tools.function_calling"],
        ["tool.agent"],
    ),
    ("embeddings.text", "Text embeddings.", ["embeddings.text"], ["embedder"]),
    ("text.classification", "Labelling text.", ["text.classification"], ["classifier"]),
    (
        "text.language_detection",
        "Identifying the language of a text.",
        ["text.language_detection"],
        ["language.detector"],
    ),
    (
        "json.schema_adherence",
        "Output that must follow a JSON schema.",
        ["json.schema_adherence"],
        ["coder.review"],
    ),
)

# (role_id, name, description, tasks, tool policy)
_ROLES: Final = (
    ("general.chat", "General chat", "General conversation.", ["text.chat"], "allowed"),
    ("coder.patch", "Coder (patch)", "Patch-oriented code edits.", ["code.edit"], "allowed"),
    (
        "coder.review",
        "Coder (review)",
        "Code review and structured pass/fail verdicts.",
        ["code.edit", "json.schema_adherence"],
        "limited",
    ),
    ("tool.agent", "Tool agent", "Tool orchestration.", ["tools.function_calling"], "allowed"),
    ("embedder", "Embedder", "Text embeddings.", ["embeddings.text"], "disabled"),
    ("classifier", "Classifier", "Labelling text.", ["text.classification"], "disabled"),
    (
        "language.detector",
        "Language detector",
        "Language identification.",
        ["text.language_detection"],
        "disabled",
    ),
)

DEFAULT_TASK: Final = "text.chat"


def baseline_tasks() -> list[TaskDefinition]:
    return [
        TaskDefinition(
            task_type=task_type,
            description=description,
            required_inputs=["messages"],
            required_capabilities=required,
            preferred_capabilities=[],
            quality_metrics=["judge_score"],
            allowed_roles=roles,
            default_benchmark_suites=[task_type],
        )
        for task_type, description, required, roles in _TASKS
    ]


def baseline_roles() -> list[RoleDefinition]:
    return [
        RoleDefinition(
            role_id=role_id,
            name=name,
            description=description,
            role_kind="assistant",
            default_system_instructions="",
            task_types_supported=tasks,
            required_capabilities=[],
            preferred_capabilities=[],
            forbidden_capabilities=[],
            tool_policy=ToolPolicy.model_validate({"mode": tool_mode}),
            routing_policy_overrides={},
            output_contracts=[],
            safety_policy_refs=[],
        )
        for role_id, name, description, tasks, tool_mode in _ROLES
    ]


def primary_task(role: RoleDefinition) -> str:
    """The task a role performs when a request names only the role."""
    return role.task_types_supported[0] if role.task_types_supported else DEFAULT_TASK
