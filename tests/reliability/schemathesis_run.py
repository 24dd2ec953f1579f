"""schemathesis over the gateway's own OpenAPI document (``GET /openapi.json``), with valid
credentials: every operation gets generated cases, each answer is checked for no 5xx and for
conformance (status code, content type, headers and body schema as documented).

`run` is what tests/reliability/test_schemathesis.py calls (~200 cases) and what a bench script
calls for the long run (``scale`` ≥ 5: over 1,000 cases; or ``python -m
tests.reliability.schemathesis_run``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHAT: Final = "/v1/chat/completions"
TAIL: Final = "/api/console/requests/stream"


@dataclass(slots=True)
class SchemathesisReport:
    cases: int = 0
    server_errors: int = 0
    per_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"schemathesis {schemathesis.__version__}: {self.cases} cases over "
            f"{len(self.per_operation)} operations, 5xx {self.server_errors}, "
            f"failures {len(self.failures)}, statuses {dict(sorted(self.statuses.items()))}"
        )


def examples_for(method: str, path: str, scale: int) -> int:
    """Cases per operation: the proxied chat route most, routes with a body more than the rest."""
    if path == CHAT:
        return 50 * scale
    if path == TAIL:  # each case holds a live tail open for its whole life (15 s)
        return 1
    return (8 if method in ("POST", "PUT") else 3) * scale


def run(
    base_url: str, api_key: str, admin_token: str, *, scale: int = 1, seed: int = 14
) -> SchemathesisReport:
    """Generate and send cases for every operation of the document ``base_url`` serves."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    report = SchemathesisReport()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            token = admin_token if operation.path.startswith("/api") else api_key
            headers = {"authorization": f"Bearer {token}"}
            _run_operation(operation, base_url, session, headers, scale, seed, report)
    return report


def _run_operation(
    operation: Any,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    scale: int,
    seed: int,
    report: SchemathesisReport,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples_for(operation.method.upper(), operation.path, scale),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def one(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        report.cases += 1
        report.per_operation[label] += 1
        report.statuses[response.status_code] += 1
        report.server_errors += response.status_code >= 500
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:  # a failed check: recorded, the run goes on
            report.failures.append(f"{label} → {response.status_code}: {str(exc)[:600]}")

    one()


def long_run(scale: int = 6, seed: int = 14, database_url: str | None = None) -> SchemathesisReport:
    """The long run against a fresh gateway over a scripted upstream (SQLite unless given)."""
    from tests.integration.gateway.harness import ADMIN_TOKEN
    from tests.reliability.conftest import scripted_gateway

    with scripted_gateway(database_url) as gw:
        base = f"http://127.0.0.1:{gw.port}"
        return run(base, gw.api_key, ADMIN_TOKEN, scale=scale, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=6)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    report = long_run(args.scale, args.seed, args.database_url)
    print(report.summary())
    for line in report.failures[:30]:
        print("  ", line)


if __name__ == "__main__":
    main()
