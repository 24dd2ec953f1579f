"""Benchmarks and the judge loop: graded evidence that routing uses (docs/benchmark.md).

Modules: `cases` (suite format, built-in suites in ``data/``), `graders` (deterministic graders,
sandboxed code, LLM judge, pairwise), `client` (endpoint calls through rolecall's adapters),
`runner` (asyncio over endpoints × cases, resumable), `results` (the stored records), `ports`,
`evidence` (results → profile samples),
`report` and `stats` (reports, strategy recommendation, paired comparison), `service` (the use
cases the CLI and the console API call, and `benchmark_unmeasured`). Nothing is
imported here, so ``rolecall.storage`` can use `results` and `ports` without loading the runner.
"""
