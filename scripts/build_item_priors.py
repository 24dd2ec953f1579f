"""Build item-statistics priors for the built-in cases (``src/rolecall/benchmark/data/item_priors.json``).

On a fresh install the store holds no graded results, so an adaptive run sees every case alike.
This script gives the built-in cases that came from public question sets a prior difficulty and
discrimination, fitted from public per-prompt, multi-model records in ``../shared/data``
(RouteLLM, LLMRouter and RouterArena), each matched exactly to the built-in case it is: the sources
and the matching are in ``scripts/item_priors_match.py``.

Fitting: per source, one ``rolecall.benchmark.items.fit_items`` over all of its prompts (rows:
distinct prompt texts, repeats averaged) × its models, so the many other prompts anchor the
abilities. Scales of different sources are not comparable (different models, different prompts),
so each is mapped to a common one by the affine change of the ability scale that puts that
source's difficulties (over all its prompts) at mean 0 and standard deviation 1: ``b' = (b − m)
/ s``, ``a' = a · s`` (``a'(θ' − b') = a(θ − b)``, so the fit's predictions are unchanged). A case
matched in several sources takes the source with the most models (then the order of
``SOURCES``).

Run: ``.venv/bin/python scripts/build_item_priors.py [--shared ../shared] [--check]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from item_priors_match import SOURCES, Array, Table, chosen, load_table, match_cases
from numpy.typing import NDArray

from rolecall.benchmark.items import fit_items

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "rolecall" / "benchmark" / "data" / "item_priors.json"
DIGITS = 6
LICENSES = {
    "routellm": "RouteLLM eval data (lm-sys/RouteLLM @ 0b64fda): Apache-2.0; MMLU MIT, GSM8K MIT",
    "llmrouter": (
        "LLMRouter data (ulab-uiuc/LLMRouter @ 4e7a796): MIT; the tasks used keep their own "
        "licenses (GSM8K MIT, HumanEval MIT, MBPP CC-BY-4.0, MGSM/AgentVerse CC-BY-SA-4.0)"
    ),
    "routerarena": "RouterArena cached results (RouteWorks/RouterArena @ 4714a9a): Apache-2.0",
}


# --- fitting -------------------------------------------------------------------------------------


@dataclass
class Fit:
    difficulty: Array  # standardised: mean 0, sd 1 over the source's prompts
    discrimination: Array  # rescaled with the same change of scale
    graded: NDArray[np.int64]
    flat: NDArray[np.bool_]  # the source's models all scored the same on it
    mean: float  # of the raw difficulties
    sd: float
    abilities: dict[str, float]  # the source's models on the standardised scale


def fit_source(table: Table) -> Fit:
    items, theta = fit_items(table.scores)
    mean, sd = float(items.difficulty.mean()), float(items.difficulty.std())
    return Fit(
        (items.difficulty - mean) / sd,
        items.discrimination * sd,
        items.graded,
        items.flat,
        mean,
        sd,
        {m: float((t - mean) / sd) for m, t in zip(table.models, theta, strict=True)},
    )


def build(shared: Path) -> dict[str, Any]:
    """The priors document from ``shared`` (the ``data`` folder of ../shared), less the date."""
    tables = {source: load_table(shared, source) for source in SOURCES}
    matches, notes = match_cases(shared, tables)
    picks, notes["left_out"] = chosen(matches, tables)
    fits = {s: fit_source(tables[s]) for s in sorted({m.source for m in picks.values()})}
    cases = {}
    for key in sorted(picks):
        pick = picks[key]
        fit, table = fits[pick.source], tables[pick.source]
        cases[key] = {
            "difficulty": round(float(fit.difficulty[pick.row]), DIGITS),
            "discrimination": round(float(fit.discrimination[pick.row]), DIGITS),
            "models": int(fit.graded[pick.row]),
            "mean_score": round(float(np.nanmean(table.scores[pick.row])), DIGITS),
            "separated": not bool(fit.flat[pick.row]),
            "match": "exact" if pick.exact else "whitespace",
            "source": pick.source,
        }
    sources = {}
    for source in SOURCES:
        table = tables[source]
        entry: dict[str, Any] = {
            "license": LICENSES[source],
            "models": table.models,
            "prompts": len(table.prompts),
            "repeats_averaged": table.repeats,
            "matched": sum(any(m.source == source for m in found) for found in matches.values()),
            "matched_exact": sum(
                any(m.source == source and m.exact for m in found) for found in matches.values()
            ),
            "used": sum(p.source == source for p in picks.values()),
        }
        if source in fits:
            fit = fits[source]
            entry["raw_difficulty_mean"] = round(fit.mean, DIGITS)
            entry["raw_difficulty_sd"] = round(fit.sd, DIGITS)
            entry["abilities"] = {m: round(v, DIGITS) for m, v in fit.abilities.items()}
        sources[source] = entry
    return {
        "source": (
            "public per-prompt multi-model records (../shared/data): RouteLLM eval data, "
            "LLMRouter data, RouterArena cached results; built by scripts/build_item_priors.py"
        ),
        "license": "; ".join(LICENSES.values()),
        "fitted": "",
        "method": (
            "2PL (rolecall.benchmark.items.fit_items), fitted per source over all of that "
            "source's prompts x its models; a case is matched by the exact text build_suites made "
            "of a record (MMLU and RouterArena: whitespace-collapsed); a case in several sources "
            "takes the one with the most models"
        ),
        "scale": (
            "sources' ability scales are not comparable: each source's difficulties are "
            "standardised to mean 0 / sd 1 over all its prompts (b' = (b - mean) / sd) and its "
            "discriminations rescaled to match (a' = a * sd), so a'(theta' - b') = a(theta - b) "
            "and every prior sits on the N(0, 1) ability-prior scale of rolecall.benchmark.items"
        ),
        "sources": sources,
        "notes": notes,
        "cases": cases,
    }


def _values(doc: dict[str, Any]) -> dict[str, tuple[float, float, str]]:
    return {k: (v["difficulty"], v["discrimination"], v["source"]) for k, v in doc["cases"].items()}


def same_priors(a: dict[str, Any], b: dict[str, Any], tolerance: float = 1e-6) -> list[str]:
    """Differences between two priors documents' cases (empty: the same within ``tolerance``)."""
    left, right = _values(a), _values(b)
    problems = [f"{k}: only in one" for k in sorted(set(left) ^ set(right))]
    for key in sorted(set(left) & set(right)):
        (b1, a1, s1), (b2, a2, s2) = left[key], right[key]
        if s1 != s2 or abs(b1 - b2) > tolerance or abs(a1 - a2) > tolerance:
            problems.append(f"{key}: {left[key]} != {right[key]}")
    return problems


def dumps(doc: dict[str, Any]) -> str:
    """The document as JSON: the header indented, one line per case (a small, readable diff)."""
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, indent=1, ensure_ascii=False)
    cases = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc["cases"].items())
    text = f'{head.removesuffix("}").rstrip()},\n "cases": {{\n{cases}\n }}\n}}\n'
    assert json.loads(text) == doc
    return text


def _report(doc: dict[str, Any]) -> Iterable[str]:
    for source, entry in doc["sources"].items():
        yield (
            f"{source}: {entry['prompts']} prompts x {len(entry['models'])} models; "
            f"matched {entry['matched']} cases ({entry['matched_exact']} byte-exact), "
            f"used {entry['used']}"
        )
    for key, case in doc["cases"].items():
        yield (
            f"  {key:32} {case['source']:10} b={case['difficulty']:+.3f} "
            f"a={case['discrimination']:.3f} mean={case['mean_score']:.2f} n={case['models']}"
        )
    yield f"notes: {doc['notes']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument(
        "--check", action="store_true", help="compare with the packaged file instead of writing"
    )
    args = parser.parse_args()
    doc = build(args.shared / "data")
    for line in _report(doc):
        print(line)
    if args.check:
        problems = same_priors(json.loads(OUT.read_text(encoding="utf-8")), doc)
        print("\n".join(problems) or f"{OUT.name}: up to date")
        sys.exit(1 if problems else 0)
    doc["fitted"] = dt.date.today().isoformat()
    OUT.write_text(dumps(doc), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes, {len(doc['cases'])} cases)")


if __name__ == "__main__":
    main()
