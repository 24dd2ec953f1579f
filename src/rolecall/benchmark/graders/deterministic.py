"""Deterministic graders: exact, multiple-choice letter, numeric, regex, JSON schema, tool calls.

Each takes the case and the endpoint's `Reply` and returns a `Verdict` (a score in [0, 1] and a
rationale that says what was compared). They never call a model, so they come first: the LLM judge
is only used where no deterministic check exists (docs/benchmark.md §Small local judges).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final

from rolecall.benchmark.cases import BenchCase
from rolecall.benchmark.reply import Reply, Verdict

__all__ = [
    "extract_json",
    "extract_letter",
    "extract_number",
    "grade_choice",
    "grade_exact",
    "grade_json_schema",
    "grade_numeric",
    "grade_regex",
    "grade_tool_calls",
    "normalise",
]

_NUMBER: Final = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FENCE: Final = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def normalise(text: str) -> str:
    """Case-folded, accents kept, surrounding punctuation/quotes/whitespace removed."""
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    return text.strip(" \t\n.,;:!?\"'`*()[]")


def grade_exact(case: BenchCase, reply: Reply) -> Verdict:
    args = case.parsed_args()
    accepted = [case.reference or "", *args.accept]
    answer = reply.text.strip() if args.case_sensitive else normalise(reply.text)
    wanted = [a.strip() if args.case_sensitive else normalise(a) for a in accepted]
    ok = answer in wanted
    shown = answer[:60]
    return Verdict(
        1.0 if ok else 0.0, f"exact: answer {shown!r} {'matches' if ok else 'is not'} {wanted}"
    )


def extract_letter(text: str, letters: str) -> str | None:
    """The option letter in an answer: 'C', '(C)', 'C.', 'Answer: C', 'The answer is C'."""
    allowed = f"[{letters}]"
    stripped = text.strip()
    patterns = (
        rf"^\(?({allowed})\)?(?:[.):\s]|$)",
        rf"answer(?: is)?\s*[:\-]?\s*\(?({allowed})\)?\b",
        rf"\b({allowed})\b",
    )
    for pattern in patterns:
        match = re.search(pattern, stripped, re.I if "answer" in pattern else 0)
        if match:
            return match.group(1).upper()
    return None


def grade_choice(case: BenchCase, reply: Reply) -> Verdict:
    letter = extract_letter(reply.text, case.parsed_args().letters)
    ok = letter == case.reference
    return Verdict(
        1.0 if ok else 0.0, f"choice: picked {letter or 'no letter'}, correct is {case.reference}"
    )


def extract_number(text: str) -> float | None:
    """The number after 'Answer:' or inside \\boxed{}, else the last number in the text."""
    for pattern in (
        r"answer\s*(?:is)?\s*[:=]?\s*\$?\s*(-?[\d,]*\.?\d+)",
        r"\\boxed\{\s*\$?(-?[\d,]*\.?\d+)",
    ):
        found = re.findall(pattern, text, re.I)
        if found:
            return _to_float(found[-1])
    numbers = _NUMBER.findall(text)
    return _to_float(numbers[-1]) if numbers else None


def _to_float(raw: str) -> float | None:
    try:
        return float(raw.replace(",", ""))
    except ValueError:
        return None


def grade_numeric(case: BenchCase, reply: Reply) -> Verdict:
    args = case.parsed_args()
    expected = float(str(case.reference).replace(",", ""))
    got = extract_number(reply.text)
    if got is None:
        return Verdict(0.0, f"numeric: no number in the answer (expected {expected:g})")
    allowed = args.tolerance * abs(expected) if args.relative else args.tolerance
    ok = abs(got - expected) <= allowed
    return Verdict(
        1.0 if ok else 0.0, f"numeric: got {got:g}, expected {expected:g} (±{allowed:g})"
    )


def grade_regex(case: BenchCase, reply: Reply) -> Verdict:
    args = case.parsed_args()
    flags = 0
    for letter in args.flags:
        flags |= {"i": re.I, "m": re.M, "s": re.S}[letter]
    ok = re.search(args.pattern, reply.text, flags) is not None
    return Verdict(
        1.0 if ok else 0.0, f"regex: /{args.pattern}/ {'matched' if ok else 'did not match'}"
    )


def extract_json(text: str) -> Any:
    """The JSON document in an answer: the whole text, a fenced block, or the outermost {...}/[...]."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON document found in the answer")


def grade_json_schema(case: BenchCase, reply: Reply) -> Verdict:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    try:
        document = extract_json(reply.text)
    except ValueError as exc:
        return Verdict(0.0, f"json_schema: {exc}")
    errors = sorted(
        Draft202012Validator(case.parsed_args().json_schema).iter_errors(document), key=str
    )
    if not errors:
        return Verdict(1.0, "json_schema: valid JSON that satisfies the schema")
    where = "/".join(str(p) for p in errors[0].absolute_path) or "$"
    # parseable JSON that breaks the schema still beats prose: a little credit, never a pass
    return Verdict(
        0.2, f"json_schema: {len(errors)} violation(s), first at {where}: {errors[0].message[:120]}"
    )


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return abs(float(actual) - float(expected)) < 1e-9
        except (TypeError, ValueError):
            return False
    return normalise(str(actual)) == normalise(str(expected))


def grade_tool_calls(case: BenchCase, reply: Reply) -> Verdict:
    """Share of expected tools called with the expected argument values; extra calls cost a share."""
    expected = list(case.expected_tools or [])
    wanted_args = case.parsed_args().arguments
    called = {call["name"]: call.get("arguments") for call in reply.tool_calls}
    hits, notes = 0.0, []
    for name in expected:
        if name not in called:
            notes.append(f"{name} not called")
            continue
        want = wanted_args.get(name, {})
        raw = called[name]
        args: dict[str, Any] = raw if isinstance(raw, dict) else {}
        good = sum(1 for key, value in want.items() if key in args and _matches(value, args[key]))
        hits += 1.0 if not want else 0.5 + 0.5 * good / len(want)
        notes.append(f"{name} called ({good}/{len(want)} arguments right)")
    extra = sorted(set(called) - set(expected))
    if extra:
        notes.append(f"unexpected calls {extra}")
    score = max(0.0, (hits - 0.5 * len(extra)) / len(expected))
    return Verdict(round(score, 4), "tool_calls: " + "; ".join(notes))
