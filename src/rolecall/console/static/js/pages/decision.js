// Router → Decision detail: eligibility with exclusion reasons, metric breakdown, fallbacks, policy, evidence.
import { api } from "../api.js";
import { groupedBars } from "../charts.js";
import { outcomeRows } from "../outcome.js";
import { badge, card, clear, fmt, h, json, kv, notice, table } from "../ui.js";

const METRICS = ["quality", "latency", "throughput", "cost", "reliability", "preference"];

function evidenceLink(metric, entry, evidence) {
  if (entry.source === "measured") {
    const p = evidence?.observed_profile;
    const what = metric === "quality" ? "benchmark/judge samples" : "live and benchmark samples";
    return h("span", {}, badge("measured", "ok"), " ", h("a", { href: "#/models/benchmark" }, p ? `${p.sample_size} ${what}, ${fmt.ago(p.measured_at_ms)}` : what));
  }
  if (entry.source === "declared") return h("span", {}, badge("declared"), " ", h("a", { href: "#/models" }, "declared profile / catalog"));
  return badge(entry.source || "default", "warn");
}

function breakdownTable(d, evidence) {
  const rows = [];
  for (const c of d.scored_candidates) {
    for (const m of METRICS) {
      const entry = c.metric_breakdown[m];
      rows.push({ endpoint: c.endpoint_id, metric: m, entry, raw: entry.raw });
    }
  }
  return table([
    { key: "endpoint", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint) },
    { key: "metric", label: "Metric" },
    { key: "value", label: "Value", num: true, render: (r) => fmt.score(r.entry.value) },
    { key: "raw", label: "Raw", wrap: true, render: (r) => (r.raw ? Object.entries(r.raw).map(([k, v]) => `${k}=${typeof v === "number" ? +v.toFixed(4) : v}`).join(" ") : "–") },
    { key: "ev", label: "Evidence", render: (r) => evidenceLink(r.metric, r.entry, evidence[r.endpoint]) },
  ], rows, { empty: "No candidate was scored" });
}

// Metrics that score the same for every scored candidate (the router notes them in the first
// candidate's raw inputs): their weight did not change the ranking.
function flatMetricNotes(d) {
  const first = d.scored_candidates[0];
  const warnings = first ? METRICS.map((m) => first.metric_breakdown[m].raw?.warning).filter(Boolean) : [];
  return warnings.length ? h("div", { class: "grid", id: "decision-flat-metrics" }, warnings.map((w) => notice(w))) : null;
}

export async function render({ page, params }) {
  const res = await api(`/api/console/decisions/${encodeURIComponent(params[0])}`);
  const d = res.decision;
  const facts = res.facts;
  const summary = kv([
    ["Decision", h("span", { class: "mono" }, d.routing_decision_id)],
    ["Request", facts ? h("a", { class: "mono", id: "decision-request-link", href: `#/observe/requests/${encodeURIComponent(d.request_id)}` }, d.request_id) : h("span", { class: "mono" }, d.request_id)],
    ["Chosen endpoint", d.chosen_endpoint_id ? h("b", { class: "mono", id: "decision-chosen" }, d.chosen_endpoint_id) : badge(res.outcome?.error_class === "budget_exceeded" ? "none: every candidate over budget" : "no eligible endpoint", "bad")],
    // what the request became: served or failed where, refused and why, or a decision-only call
    ...outcomeRows(res.outcome, "decision-executed"),
    ["Fallback order", d.fallback_endpoint_ids.length ? h("ol", {}, d.fallback_endpoint_ids.map((e) => h("li", { class: "mono" }, e))) : "none"],
    ["Strategy", d.policy_snapshot.strategy],
    ["Selection reasons", d.selection_reasons.map((r) => badge(r, "info"))],
    ["Evidence", d.used_measured ? badge("measured", "ok") : badge("declared only")],
    ["Scoring version", d.scoring_version],
  ]);
  const eligibility = table([
    { key: "endpoint_id", label: "Endpoint", render: (e) => h("span", { class: "mono" }, e.endpoint_id) },
    { key: "eligible", label: "Eligible", render: (e) => badge(e.eligible ? "eligible" : "excluded", e.eligible ? "ok" : "bad") },
    { key: "score", label: "Score", num: true, render: (e) => fmt.score(d.scored_candidates.find((c) => c.endpoint_id === e.endpoint_id)?.total_score) },
    { key: "codes", label: "Exclusion reasons", wrap: true, render: (e) => e.exclusions.map((x) => h("div", {}, badge(x.code, "warn"), " ", h("span", { class: "muted" }, x.detail))) },
  ], d.eligibility, { rowClass: (e) => (e.eligible ? "" : "excluded") });
  const groups = d.scored_candidates.map((c) => ({ name: c.endpoint_id, values: Object.fromEntries(METRICS.map((m) => [m, c.metric_breakdown[m].value])) }));
  clear(page,
    flatMetricNotes(d),
    h("div", { class: "grid g2" }, card("Decision", summary), card("Metric breakdown", groups.length ? groupedBars(METRICS, groups, { label: "metric values per candidate" }) : h("p", { class: "muted" }, "No candidate was eligible."))),
    card("Eligibility", eligibility),
    card("Metric values and the evidence behind them", breakdownTable(d, res.evidence)),
    card("Policy snapshot", json(d.policy_snapshot)));
  return null;
}
