// Charts of one analytics slice, each with an explicit state (empty / partial / truncated / unsupported).
// Every figure comes counted from the server: requests (served + failed + refused), refusals,
// decision-only calls (never traffic), latency and cost of executed requests only.
import { decimalsOf, lineChart, stackedBars } from "./charts.js";
import { card, fmt, h, notice, stat, stateBox, table } from "./ui.js";

export const WINDOWS = ["15m", "1h", "6h", "24h", "7d", "30d"];

function axis(data) {
  const xs = [];
  for (let i = 0; i < data.buckets; i++) xs.push(data.start_ms + i * data.bucket_ms);
  return xs;
}

function byBucket(data, key) {
  const index = new Map(data.series.map((p) => [p.t, p]));
  return axis(data).map((t) => (index.has(t) ? index.get(t)[key] ?? null : null));
}

// times are the browser's local time; long windows show the day too
const xFormat = (data) => (t) => (data.bucket_ms >= 3600000 * 3 || data.buckets * data.bucket_ms > 86400000
  ? `${new Date(t).toLocaleDateString("en-GB", { day: "2-digit", month: "short" })} ${fmt.clock(t).slice(0, 5)}`
  : fmt.clock(t).slice(0, 5));

export function stats(data) {
  const t = data.totals;
  // long windows read 5-minute rollups, whose latency histogram gives quantiles within a few %
  const q = (v) => (data.quantiles_approximate && v !== null ? `≈ ${fmt.ms(v)}` : fmt.ms(v));
  const cost = data.unsupported.cost ? "no priced requests" : data.partial.cost ? `partial: ${fmt.int(t.costed)} of ${fmt.int(t.executed)} priced` : "executed requests";
  return h("div", { class: "grid g6", id: "totals" },
    stat("Requests", h("span", { id: "total-requests" }, fmt.int(t.requests)), h("span", {}, h("span", { id: "total-fallbacks" }, fmt.int(t.fallbacks)), " via fallback · ", h("span", { id: "total-decisions" }, fmt.int(t.decisions)), " decision-only (not counted)")),
    stat("Success rate", fmt.pct(t.success_rate), h("span", {}, h("span", { id: "total-failed" }, fmt.int(t.failed)), " failed · ", h("span", { id: "total-refused" }, fmt.int(t.refused)), " refused")),
    stat("Latency p50", q(t.latency_p50_ms), `avg ${fmt.ms(t.latency_avg_ms)} · executed only`),
    stat("Latency p95", q(t.latency_p95_ms), data.source),
    stat("Cost", fmt.usd(t.cost_usd), cost),
    stat("Tokens", fmt.int(t.tokens_in + t.tokens_out), `${fmt.int(t.tokens_in)} in · ${fmt.int(t.tokens_out)} out`));
}

function chartCard(title, data, build, { partial, unsupported, empty } = {}) {
  if (!data.totals.requests || empty) return card(title, stateBox("empty"));
  if (unsupported) return card(title, stateBox("unsupported", "No request in this slice has a price: configure prices to chart cost"));
  return card(title, h("div", {}, partial ? notice(partial) : null, build()));
}

// tick labels, exact at the axis's step; one unit per axis (seconds when it reaches 10 s)
const pctAxis = (v, { step }) => `${(v * 100).toFixed(decimalsOf(step * 100))}%`;
const msAxis = (v, { yMax, step, decimals }) => (yMax >= 10000 ? `${(v / 1000).toFixed(decimalsOf(step / 1000))} s` : `${v.toFixed(decimals)} ms`);
const usdAxis = (v, { decimals }) => (v === 0 ? "$0" : `$${v.toFixed(Math.max(2, decimals))}`);

export function charts(data) {
  const xs = axis(data);
  const xf = xFormat(data);
  const endpoints = [...new Set(data.split.map((r) => r.endpoint_id))];
  const splitIndex = new Map(data.split.map((r) => [`${r.t}|${r.endpoint_id}`, r.requests]));
  const stacks = endpoints.map((e) => ({ name: e, values: xs.map((t) => splitIndex.get(`${t}|${e}`) || 0) }));
  const costPartial = data.partial.cost ? `Partial: ${fmt.int(data.totals.costed)} of ${fmt.int(data.totals.executed)} executed requests have a price` : null;
  return h("div", { class: "grid g2", id: "charts" },
    chartCard("Requests over time (requests)", data, () => lineChart(xs, [{ name: "requests", values: byBucket(data, "requests") }, { name: "refused", values: byBucket(data, "refused") }],
      { xFormat: xf, yFormat: (v) => fmt.int(v), label: "requests and refusals over time", colors: ["--accent", "--warn"], integer: true })),
    chartCard("Error rate over time (% of requests)", data, () => lineChart(xs, [{ name: "failed", values: byBucket(data, "error_rate") }, { name: "refused", values: byBucket(data, "refusal_rate") }],
      { xFormat: xf, yFormat: (v) => fmt.pct(v), yAxis: pctAxis, label: "error and refusal rate over time", colors: ["--bad", "--warn"], yMin: 0.04 })),
    chartCard("Latency p50 / p95 over time (ms)", data, () => lineChart(xs, [{ name: "p50", values: byBucket(data, "latency_p50_ms") }, { name: "p95", values: byBucket(data, "latency_p95_ms") }],
      { xFormat: xf, yFormat: fmt.ms, yAxis: msAxis, label: "latency p50 and p95 over time" }), { empty: !data.totals.executed }),
    chartCard("Routing split over time (requests per endpoint)", data, () => stackedBars(xs, stacks, { xFormat: xf, label: "requests per endpoint over time" })),
    chartCard("Cost over time (USD)", data, () => lineChart(xs, [{ name: "cost", values: byBucket(data, "cost_usd") }], { xFormat: xf, yFormat: fmt.usd, yAxis: usdAxis, label: "cost over time" }),
      { partial: costPartial, unsupported: data.unsupported.cost, empty: !data.totals.executed }));
}

export function breakdown(data) {
  const b = data.breakdown;
  const rows = b.rows;
  return h("div", {},
    data.truncated ? notice(`Truncated: showing the ${rows.length} largest of ${b.groups} groups`) : null,
    table([
      { key: "value", label: b.dimension, render: (r) => r.value ?? "(none)" },
      { key: "requests", label: "Requests", num: true, render: (r) => fmt.int(r.requests) },
      { key: "ok", label: "Success", num: true, render: (r) => fmt.pct(r.success_rate) },
      { key: "failed", label: "Failed", num: true, render: (r) => fmt.int(r.failed) },
      { key: "refused", label: "Refused", num: true, render: (r) => fmt.int(r.refused) },
      { key: "lat", label: "Avg latency", num: true, render: (r) => fmt.ms(r.latency_avg_ms) },
      { key: "cost", label: "Cost", num: true, render: (r) => (r.costed ? fmt.usd(r.cost_usd) : "–") },
      { key: "fallbacks", label: "Fallbacks", num: true, render: (r) => fmt.int(r.fallbacks) },
      { key: "decisions", label: "Decision-only", num: true, render: (r) => fmt.int(r.decisions) },
    ], rows, { empty: "No data in this slice" }));
}
