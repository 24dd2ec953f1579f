"""llama.cpp servers take structured output as ``json_object`` with a ``schema``."""

from rolecall.providers.openai_compat import llamacpp_body

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_a_json_schema_format_becomes_json_object_with_its_schema() -> None:
    body = {
        "model": "m",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
    }
    out = llamacpp_body(body)
    assert out["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert out["model"] == "m"
    assert body["response_format"]["type"] == "json_schema"  # the caller's body is not changed


def test_other_bodies_pass_unchanged() -> None:
    plain = {"model": "m"}
    json_object = {"model": "m", "response_format": {"type": "json_object"}}
    assert llamacpp_body(plain) is plain
    assert llamacpp_body(json_object) is json_object


def test_a_json_schema_format_without_a_schema_still_asks_for_json() -> None:
    out = llamacpp_body({"response_format": {"type": "json_schema", "json_schema": "bad"}})
    assert out["response_format"] == {"type": "json_object"}
