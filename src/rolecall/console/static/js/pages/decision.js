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

// How the routing mode planned the request before the router ran (difficulty, controller,
// hybrid): the classification and its signals, the controller's directives, the arbitration and
// each candidate's difficulty advisory. Null in the baseline and learned modes.
function planCard(plan) {
  if (!plan) return null;
  const rows = [["Routing mode", h("b", { id: "plan-mode" }, plan.mode)]];
  const d = plan.difficulty;
  if (d) {
    const why = Object.entries(d.contributions || {}).map(([k, v]) => `${k} ${v > 0 ? "+" : ""}${+Number(v).toFixed(2)}`).join(", ");
    rows.push(["Classified", h("span", {}, badge(d.difficulty, d.difficulty === "hard" ? "bad" : d.difficulty === "medium" ? "warn" : "ok"), " ", h("span", { class: "muted" }, `${d.source} ${d.version}, score ${fmt.num(d.score, 2)}${why ? ` (${why})` : ""}`))]);
  }
  if (plan.routed_difficulty) rows.push(["Routed as", h("b", { id: "plan-difficulty" }, plan.routed_difficulty)]);
  const c = plan.controller;
  if (c) {
    rows.push(["Controller", h("span", {}, badge(c.status, c.status === "ok" ? "ok" : "warn"), " ", h("span", { class: "muted" }, c.detail || ""))]);
    if (c.applied && Object.keys(c.applied).length) rows.push(["Directives applied", json(c.applied)]);
    if (c.rejected?.length) rows.push(["Directives rejected", h("ul", {}, c.rejected.map((r) => h("li", {}, h("span", { class: "mono" }, r.field), ": ", r.why)))]);
  }
  const a = plan.arbitration;
  if (a) rows.push(["Dominant signal", h("span", {}, h("span", { id: "plan-dominant" }, badge(a.dominant, "info")), " ", h("span", { class: "muted" }, a.why))]);
  const advisories = plan.advisories?.length
    ? table([
        { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
        { key: "max_difficulty", label: "Ceiling", render: (r) => r.max_difficulty || "none" },
        { key: "source", label: "From", render: (r) => r.source || "–" },
        { key: "verdict", label: "Verdict", render: (r) => badge(r.verdict, r.verdict === "within" ? "ok" : r.verdict === "no ceiling" ? "info" : "bad") },
      ], plan.advisories)
    : null;
  return card("Routing mode plan", h("div", { id: "decision-plan" }, kv(rows), advisories));
}

// Live quality evidence beside the decision: the feedback given on this request, and per
// candidate the feedback on its answers and any open drift alarm (which demotes it).
function liveCard(d, res) {
  const rows = d.scored_candidates.map((c) => {
    const ev = res.evidence[c.endpoint_id] || {};
    const fb = ev.feedback;
    return {
      endpoint_id: c.endpoint_id,
      feedback: fb ? `${fb.scored} scored, mean ${fmt.num(fb.mean_score, 2)} (${fb.feedback} in all)` : "none",
      alarm: ev.alarm ? badge(`demoted: ${ev.alarm.metric}`, "bad") : "–",
    };
  });
  const given = (res.feedback || []).map((x) => h("li", {}, h("span", { class: "mono" }, x.giver), `: ${x.score ?? "–"} ${x.label || ""} ${x.comment || ""}`));
  return card("Live quality evidence", h("div", { id: "decision-live", class: "grid" },
    table([
      { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
      { key: "feedback", label: "Feedback on its answers" },
      { key: "alarm", label: "Drift alarm" },
    ], rows, { empty: "No candidate was scored" }),
    given.length ? h("ul", { id: "decision-feedback" }, given) : h("p", { class: "muted" }, "No feedback on this request.")));
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
    planCard(res.plan),
    liveCard(d, res),
    card("Eligibility", eligibility),
    card("Metric values and the evidence behind them", breakdownTable(d, res.evidence)),
    card("Policy snapshot", json(d.policy_snapshot)));
  return null;
}
