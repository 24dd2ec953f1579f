"""The Responses API end to end: the official openai SDK, the openai-agents SDK and LangChain
against a real gateway over a scripted upstream (real HTTP both sides, SQLite; the stored
responses' restart test runs on PostgreSQL too). Each request is routed and recorded as a chat
completion is: its decision and usage are read back from the admin API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from rolecall.gateway.auth import create_api_key
from rolecall.providers.scripted import ScriptedUpstream
from tests.integration.gateway.harness import Gateway, openai_provider

ANSWER = "the answer is 42"
PERSON = '{"name": "Ada", "age": 36}'
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "the weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def _tool_rule(keyword: str) -> dict[str, Any]:
    """The first request whose last user message has ``keyword`` gets a tool call; the ones
    after (the same user message, with the tool's result) get the plain answer."""
    call = {
        "id": f"call_{keyword}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    return {"prompt_contains": keyword, "nth": 1, "answer": "", "tool_calls": [call]}


SCRIPT = {
    "models": {"m": {"answer": ANSWER}},
    "rules": [
        _tool_rule("weather-sdk"),
        _tool_rule("weather-agent"),
        _tool_rule("streamed-forecast-agent"),
        _tool_rule("weather-stream"),
        _tool_rule("weather-lc"),
        {"prompt_contains": "json please", "answer": PERSON},
        {"prompt_contains": "cut me", "fail": {"kind": "cut", "after_chunks": 2}},
    ],
}


def _inventory(base_url: str) -> dict[str, Any]:
    return {
        "providers": {"up": openai_provider(base_url, local=False)},
        "endpoints": [
            {
                "provider": "up",
                "model": "m",
                "id": "ep",
                "tools": True,
                "price": {"input_per_1m": 1.0, "output_per_1m": 2.0},
            }
        ],
    }


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    handle = ScriptedUpstream.start_in_thread(SCRIPT)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def gateway(upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("responses")
    with Gateway(_inventory(upstream.base_url), f"sqlite:///{tmp}/rolecall.db", tmp) as gw:
        yield gw


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.client()


def _last_messages(upstream: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = upstream.stats()["models"]["m"]["last_body"]["messages"]
    return messages


def _recorded(gateway: Gateway, request_id: str, decision_id: str | None = None) -> dict[str, Any]:
    """The request's stored usage event, checked like chat's: the endpoint, the decision, tokens
    and cost."""
    status, record = gateway.admin(f"/api/requests/{request_id}")
    assert status == 200, record
    [usage] = record["usage"]
    assert usage["endpoint_id"] == "ep"
    assert usage["tokens_out"] > 0
    assert usage["cost_actual"] > 0
    decision_id = decision_id or usage["routing_decision_id"]
    assert usage["routing_decision_id"] == decision_id
    status, decision = gateway.admin(f"/api/decisions/{decision_id}")
    assert status == 200
    assert decision["chosen_endpoint_id"] == "ep"
    assert {s["span_type"] for s in record["spans"]} >= {"router.selection", "provider.prefill"}
    return usage


def test_create_is_routed_answered_and_recorded(gateway: Gateway, client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model="default", input="hello", instructions="be brief", metadata={"tags": "resp"}
    )
    response = raw.parse()
    assert response.output_text == ANSWER
    assert response.status == "completed"
    assert response.model == "m"
    assert response.instructions == "be brief"
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert raw.headers["x-rolecall-endpoint"] == "ep"
    assert float(raw.headers["x-rolecall-cost-usd"]) > 0
    usage = _recorded(
        gateway, raw.headers["x-rolecall-request-id"], raw.headers["x-rolecall-decision-id"]
    )
    assert usage["tokens_out"] == response.usage.output_tokens
    _status, record = gateway.admin(f"/api/requests/{raw.headers['x-rolecall-request-id']}")
    assert record["identity"]["tags"] == ["resp"]


def test_streamed_events_and_the_stream_helper(gateway: Gateway, client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="default", input="stream it", stream=True, extra_headers={"x-request-id": "rs-1"}
        )
    )
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == ANSWER
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == ANSWER
    assert final.usage is not None
    _recorded(gateway, "rs-1")
    with client.responses.stream(model="default", input="stream again") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        helper_final = stream.get_final_response()
    assert "".join(deltas) == helper_final.output_text == ANSWER


def test_a_cut_stream_ends_with_response_failed(gateway: Gateway, client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="default", input="cut me", stream=True, extra_headers={"x-request-id": "rs-cut"}
        )
    )
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1].response.status == "failed"  # type: ignore[union-attr]
    status, record = gateway.admin("/api/requests/rs-cut")
    assert status == 200
    [decode] = [s for s in record["spans"] if s["span_type"] == "provider.decode"]
    assert decode["status"] == "error"  # recorded as chat's cut streams are
    assert "stream_truncated" in str(decode)


def test_a_tool_round_trip(client: openai.OpenAI, upstream: Any) -> None:
    first = client.responses.create(
        model="default", input="weather-sdk in Paris?", tools=[WEATHER_TOOL]
    )
    [call] = first.output
    assert call.type == "function_call"
    assert (call.name, call.arguments, call.call_id) == (
        "get_weather",
        '{"city": "Paris"}',
        "call_weather-sdk",
    )
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"}
    second = client.responses.create(
        model="default", previous_response_id=first.id, input=[result], tools=[WEATHER_TOOL]
    )
    assert second.output_text == ANSWER
    messages = _last_messages(upstream)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"] == call.call_id
    assert messages[2]["content"] == "sunny, 21C"


def test_a_streamed_tool_call(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="default", input="weather-stream now", tools=[WEATHER_TOOL]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.done" in kinds
    [call] = final.output
    assert call.type == "function_call"
    assert call.arguments == '{"city": "Paris"}'


class Person(BaseModel):
    name: str
    age: int


def test_structured_output(client: openai.OpenAI, upstream: Any) -> None:
    parsed = client.responses.parse(model="default", input="json please", text_format=Person)
    assert parsed.output_parsed == Person(name="Ada", age=36)
    sent = upstream.stats()["models"]["m"]["last_body"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "Person"


def test_previous_response_id_continues_the_conversation(
    client: openai.OpenAI, upstream: Any
) -> None:
    first = client.responses.create(model="default", input="my name is Ada", instructions="sys")
    second = client.responses.create(
        model="default", input="what is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert [(m["role"], m["content"]) for m in _last_messages(upstream)] == [
        ("user", "my name is Ada"),
        ("assistant", ANSWER),
        ("user", "what is my name?"),
    ]  # the first request's instructions are not carried over, as at OpenAI
    third = client.responses.create(
        model="default", input="and again?", previous_response_id=second.id
    )
    assert third.output_text == ANSWER
    assert len(_last_messages(upstream)) == 5
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="default", input="x", previous_response_id="resp_" + "0" * 32)


def test_retrieve_delete_and_other_keys(gateway: Gateway, client: openai.OpenAI) -> None:
    created = client.responses.create(model="default", input="keep this")
    assert client.responses.retrieve(created.id).output_text == ANSWER
    _, other_key = create_api_key(gateway.services.storage.keys, "another app")
    gateway.keys.refresh()
    other = gateway.client(api_key=other_key)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)  # another key's response is not there for it
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    unstored = client.responses.create(model="default", input="forget this", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_the_agents_sdk_runs_a_tool_using_agent(gateway: Gateway) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny"

    async def run() -> Any:
        client = openai.AsyncOpenAI(
            base_url=gateway.base_url,
            api_key=gateway.api_key,
            max_retries=0,
            default_headers={"x-request-id": "agent-run"},
        )
        model = OpenAIResponsesModel(model="default", openai_client=client)
        agent = Agent(name="forecaster", instructions="use tools", tools=[get_weather], model=model)
        try:
            result = await Runner.run(agent, "weather-agent for my trip?")
            streamed = Runner.run_streamed(agent, "streamed-forecast-agent for my trip?")
            kinds = [event.type async for event in streamed.stream_events()]
            return result, streamed, kinds
        finally:
            await client.close()

    result, streamed, kinds = asyncio.run(run())
    assert calls == ["Paris", "Paris"]
    assert result.final_output == ANSWER
    assert streamed.final_output == ANSWER
    assert "raw_response_event" in kinds
    _recorded(gateway, "agent-run")  # the newest of the run's two requests


def test_langchain_chat_openai_on_the_responses_api(gateway: Gateway) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="default",
        base_url=gateway.base_url,
        api_key=gateway.api_key,  # type: ignore[arg-type]
        use_responses_api=True,
        max_retries=0,
        default_headers={"x-request-id": "lc-1"},
    )
    assert llm.invoke("hello").text == ANSWER
    _recorded(gateway, "lc-1")
    streamed = "".join(chunk.text for chunk in llm.stream("hello again"))
    assert streamed == ANSWER
    with_tools = llm.bind_tools([WEATHER_TOOL])
    question = HumanMessage("weather-lc in Paris?")
    asked = with_tools.invoke([question])
    [call] = asked.tool_calls
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Paris"}
    answer = with_tools.invoke([question, asked, ToolMessage("sunny", tool_call_id=call["id"])])
    assert answer.text == ANSWER


def test_stored_responses_survive_a_restart(upstream: Any, db_url: str, tmp_path: Path) -> None:
    with Gateway(_inventory(upstream.base_url), db_url, tmp_path) as first:
        created = first.client().responses.create(model="default", input="remember me")
        api_key = first.api_key
    with Gateway(_inventory(upstream.base_url), db_url, tmp_path) as second:
        client = second.client(api_key=api_key)
        assert client.responses.retrieve(created.id).output_text == ANSWER
        again = client.responses.create(
            model="default", input="still there?", previous_response_id=created.id
        )
        assert again.output_text == ANSWER
        assert next(m["content"] for m in _last_messages(upstream)) == "remember me"
