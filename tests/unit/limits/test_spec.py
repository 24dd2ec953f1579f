"""Limits as people write them: every error names the field and says what is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from rolecall.errors import ConfigError
from rolecall.limits.policy import LimitSpec, Window
from rolecall.limits.spec import (
    DEFAULT_OUTPUT_TOKENS,
    LimitInputError,
    parse_limits_section,
    parse_spec,
    parse_team,
)


def test_a_spec_turns_dollars_into_exact_micro_dollars() -> None:
    spec = parse_spec({"budget_usd": 0.1, "per": "day", "rpm": 60, "tpm": 1000})
    assert spec == LimitSpec(budget_micro_usd=100_000, per=Window("day"), rpm=60, tpm=1000)
    assert parse_spec({}).empty


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"budget_usd": "5"}, "budget_usd", "must be a number of US dollars"),
        ({"budget_usd": -1}, "budget_usd", "between 0 and"),
        ({"rpm": 1.5}, "rpm", "whole number"),
        ({"rpm": 0}, "rpm", "between 1 and"),
        ({"tpm": True}, "tpm", "whole number"),
        ({"budget_tokens": 10, "per": "week"}, "per", "rolling:SECONDS"),
        ({"per": "day"}, "per", "add budget_usd or budget_tokens"),
        ({"budget": 5}, "budget", "unknown limit"),
    ],
)
def test_a_bad_spec_names_its_field(values: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(LimitInputError, match=message) as caught:
        parse_spec(values)
    assert caught.value.field == field


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "x" * 65, 5])
def test_a_team_name_is_a_plain_word(name: object) -> None:
    with pytest.raises(LimitInputError, match="letters, digits"):
        parse_team(name)
    assert parse_team("eng.platform_2") == "eng.platform_2"
    assert parse_team(None) is None


def test_the_file_section_gives_global_team_and_role_limits() -> None:
    scoped = parse_limits_section(
        {
            "global": {"budget_usd": 100, "per": "month", "rpm": 6000},
            "teams": {"eng": {"budget_usd": 20, "per": "day"}},
            "roles": {"coder": {"rpm": 100}},
            "default_output_tokens": 256,
        }
    )
    assert scoped.everyone.rpm == 6000
    assert scoped.teams["eng"].per == Window("day")
    assert scoped.roles["coder"].rpm == 100
    assert scoped.default_output_tokens == 256
    assert not scoped.empty
    empty = parse_limits_section(None)
    assert empty.empty
    assert empty.default_output_tokens == DEFAULT_OUTPUT_TOKENS


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ({"teams": {"eng": {"per": "fortnight"}}}, "limits.teams.eng.per", "rolling:SECONDS"),
        ({"roles": {"coder": {"rpm": "many"}}}, "limits.roles.coder.rpm", "whole number"),
        ({"global": {"budget_usd": None, "tpm": 0}}, "limits.global.tpm", "between 1"),
        ({"teams": {"bad name": {}}}, "limits.teams.bad name", "letters"),
        ({"team": {}}, "limits.team", "unknown key"),
        ({"global": [1]}, "limits.global", "expected a mapping"),
        ([], "limits", "expected a mapping"),
    ],
)
def test_a_bad_section_names_its_key_path(section: Any, path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_limits_section(section, "rolecall.yaml")
    assert caught.value.path == path
    assert caught.value.source == "rolecall.yaml"
