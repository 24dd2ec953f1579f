// Benchmark → one run: the judge actually used (and whether it graded itself), an adaptive run's
// cases per endpoint, suite estimates and stop reasons, pairwise results, per-suite and per-case
// rows with the reason a skipped or failed case has no score.
import { badge, card, fmt, h, kv, notice, table } from "../ui.js";

const STATUS_KIND = { graded: "ok", skipped: "", failed: "bad" };

// What the judge did in a run: named, a candidate too, how many cases it graded, its bias.
export function judgeView(report) {
  const f = report.judge_facts || {};
  if (!report.judge) {
    return h("div", { id: "bench-judge-facts" },
      h("p", {}, "No judge: ", h("b", {}, "graders only"), ` — ${fmt.int(f.heuristic_cases)} open-ended case(s) scored by the judge-free heuristic.`));
  }
  const rows = [
    ["Judge", h("span", { class: "mono" }, report.judge)],
    ["Also a candidate", f.overlap ? badge("yes: self-judging", "bad") : "no"],
    ["Cases judged", `${fmt.int(f.judged_cases)} (${fmt.int(f.self_graded_cases)} of its own answers)`],
    ["Heuristic fallbacks", fmt.int(f.heuristic_cases)],
  ];
  // score_bias is the judge's own-answer lift over the heuristic minus the others' lift
  if (f.score_bias !== undefined) rows.push(["Measured self-bias", `${f.score_bias >= 0 ? "+" : ""}${fmt.score(f.score_bias)}`]);
  if (f.pairwise_win_rate !== undefined) rows.push(["Own pairwise wins", `${fmt.pct(f.pairwise_win_rate, 0)} (its scores predict ${fmt.pct(f.expected_win_rate, 0)})`]);
  return h("div", { id: "bench-judge-facts" },
    f.overlap ? notice(`${report.judge} judged its own answers: read its scores with the measured bias in mind`) : null,
    kv(rows));
}

const STOP_KIND = { spend_cap: "warn", preflight: "bad" };
const BUCKETS = ["easy", "medium", "hard"];

// A suite-level estimate from an adaptive sample: "0.712 [0.600, 0.820]", "–" without one.
const estimateText = (q) => (q ? `${fmt.score(q.mean)} [${fmt.score(q.ci_low)}, ${fmt.score(q.ci_high)}]` : "–");

// why an endpoint stopped: the report's words (benchmark/adaptive_report.py), a badge for the bad ones
function stopView(e) {
  if (!e.stopped) return h("span", { class: "muted" }, e.why);
  return STOP_KIND[e.stopped] ? badge(e.why, STOP_KIND[e.stopped]) : e.why;
}

// An adaptive run: each endpoint answered only the cases of the whole suite its ranking needed;
// its suite (and per-bucket) quality is estimated from that sample with a 95% interval.
export function adaptiveView(adaptive) {
  const rows = Object.entries(adaptive.endpoints).map(([endpoint_id, e]) => ({ endpoint_id, ...e }));
  const seen = new Set(rows.flatMap((r) => Object.keys(r.by_bucket || {})));
  const buckets = [...BUCKETS.filter((b) => seen.has(b)), ...[...seen].filter((b) => !BUCKETS.includes(b)).sort()];
  const limits = [`at least ${fmt.int(adaptive.min_cases)}`, adaptive.max_cases ? `at most ${fmt.int(adaptive.max_cases)}` : null].filter(Boolean);
  return h("div", { id: "bench-adaptive" },
    h("p", { class: "muted" }, `Each endpoint answered only the cases of the whole suite its ranking needed (${limits.join(", ")} per endpoint); its quality is estimated from that sample, per difficulty bucket too, with a 95% interval.`),
    adaptive.anchors?.length ? h("p", { id: "bench-adaptive-anchors" }, "Compared with stored results of ", adaptive.anchors.map((a, i) => [i ? ", " : "", h("span", { class: "mono" }, a)]), " (not run again).") : null,
    table([
      { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
      { key: "cases_used", label: "Cases used", render: (r) => `${fmt.int(r.cases_used)} of ${fmt.int(r.cases_full)} (${r.cases_full ? fmt.pct(r.cases_used / r.cases_full, 0) : "–"} of the full suite)` },
      { key: "estimate", label: "Suite estimate [95% CI]", render: (r) => h("span", { class: "mono bench-adaptive-estimate" }, estimateText(r.estimate)) },
      buckets.map((b) => ({ key: b, label: b, render: (r) => h("span", { class: "mono" }, estimateText(r.by_bucket?.[b])) })),
      { key: "stopped", label: "Stopped because", wrap: true, render: (r) => h("span", { class: "bench-adaptive-stop" }, stopView(r)) },
    ].flat(), rows, { empty: "No endpoints in this run", rowClass: () => "bench-adaptive-endpoint" }));
}

function pairwiseView(pairs) {
  return table([
    { key: "case_id", label: "Case", render: (p) => h("span", { class: "mono" }, p.case_id) },
    { key: "endpoint_a", label: "A" },
    { key: "endpoint_b", label: "B" },
    { key: "winner", label: "Winner", render: (p) => p.winner || "tie" },
    { key: "consistent", label: "Both orders agree", render: (p) => (p.consistent ? "yes" : badge("no", "bad")) },
    { key: "judge_id", label: "Decided by" },
  ], pairs, { empty: "No pairwise comparisons in this run" });
}

function suitesView(rows) {
  return table([
    { key: "suite", label: "Suite" },
    { key: "endpoint_id", label: "Endpoint" },
    { key: "mean", label: "Mean", num: true, render: (r) => fmt.score(r.mean) },
    { key: "graded", label: "Graded", num: true },
    { key: "failed", label: "Failed", num: true },
    { key: "skipped", label: "Skipped", num: true },
  ], rows, { empty: "No cases stored" });
}

function casesView(rows) {
  return table([
    { key: "suite", label: "Suite" },
    { key: "case_id", label: "Case", render: (r) => h("span", { class: "mono" }, r.case_id) },
    { key: "endpoint_id", label: "Endpoint" },
    { key: "bucket", label: "Bucket" },
    { key: "status", label: "Status", render: (r) => badge(r.status, STATUS_KIND[r.status] ?? "") },
    { key: "score", label: "Score", num: true, render: (r) => fmt.score(r.score) },
    { key: "method", label: "Graded by", render: (r) => (r.self_graded ? h("span", {}, r.method, " ", badge("self", "bad")) : r.method || "–") },
    { key: "reason", label: "Why", wrap: true, render: (r) => r.reason || "" },
  ], rows, { empty: "No cases stored", rowClass: (r) => `bench-case-${r.status}` });
}

// The whole detail of one run, opened from the run history.
export function runDetail(report, onClose) {
  const skipped = report.cases.filter((c) => c.status === "skipped").length;
  return card(`Run ${report.run_id}`, h("div", { id: "bench-run-detail" },
    h("div", { class: "row spread" },
      h("span", {}, badge(report.status, report.status === "completed" ? "ok" : "bad"), ` ${report.mode} · ${fmt.time(report.started_ms)} · ${fmt.int(report.cases_done)} / ${fmt.int(report.cases_total)} cases`),
      h("button", { type: "button", onclick: onClose }, "Close")),
    report.status === "cancelled" ? notice(`Cancelled: the ${report.cases_done} case(s) graded before the cancel are kept as evidence`) : null,
    skipped ? notice(`${skipped} case(s) skipped: see "Why" below`) : null,
    report.adaptive ? [h("h3", {}, "Adaptive run"), adaptiveView(report.adaptive)] : null,
    h("h3", {}, "Judge"), judgeView(report),
    h("h3", {}, "Pairwise"), pairwiseView(report.pairwise || []),
    h("h3", {}, "Per suite"), suitesView(report.suites || []),
    h("h3", {}, "Per case"), casesView(report.cases || [])));
}
