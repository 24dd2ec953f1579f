// Charts of one analytics slice, each with an explicit state (empty / partial / truncated / unsupported).
import { lineChart, stackedBars } from "./charts.js";
import { card, fmt, h, notice, stat, stateBox, table } from "./ui.js";

export const WINDOWS = ["15m", "1h", "6h", "24h", "7d", "30d"];

function axis(data) {
  const xs = [];
  for (let i = 0; i < data.buckets; i++) xs.push(data.start_ms + i * data.bucket_ms);
  return xs;
}

function byBucket(data, key) {
  const xs = axis(data);
  const index = new Map(data.series.map((p) => [p.t, p]));
  return xs.map((t) => (index.has(t) ? index.get(t)[key] : null));
}

const xFormat = (data) => (t) => (data.bucket_ms >= 3600000 * 3 ? `${new Date(t).toLocaleDateString("en-GB", { day: "2-digit", month: "short" })} ${fmt.clock(t).slice(0, 5)}` : fmt.clock(t).slice(0, 5));

export function stats(data) {
  const t = data.totals;
  // long windows read 5-minute rollups, whose latency histogram gives quantiles within a few %
  const q = (v) => (data.quantiles_approximate && v !== null ? `≈ ${fmt.ms(v)}` : fmt.ms(v));
  return h("div", { class: "grid g6" },
    stat("Requests", fmt.int(t.requests), `${fmt.int(t.fallbacks)} via fallback`),
    stat("Success rate", fmt.pct(t.success_rate), `${fmt.int(t.requests - t.ok)} failed`),
    stat("Latency p50", q(t.latency_p50_ms), `avg ${fmt.ms(t.latency_avg_ms)}`),
    stat("Latency p95", q(t.latency_p95_ms), data.source),
    stat("Cost", fmt.usd(t.cost_usd), data.unsupported.cost ? "no priced requests" : data.partial.cost ? `partial: ${fmt.int(t.costed)} of ${fmt.int(t.requests)} priced` : "all requests priced"),
    stat("Tokens", fmt.int(t.tokens_in + t.tokens_out), `${fmt.int(t.tokens_in)} in · ${fmt.int(t.tokens_out)} out`));
}

function chartCard(title, data, build, { partial, unsupported } = {}) {
  if (!data.totals.requests) return card(title, stateBox("empty"));
  if (unsupported) return card(title, stateBox("unsupported", "No request in this slice has a price: configure prices to chart cost"));
  return card(title, h("div", {}, partial ? notice(partial) : null, build()));
}

export function charts(data) {
  const xs = axis(data);
  const xf = xFormat(data);
  const requests = byBucket(data, "requests");
  const failures = xs.map((_, i) => (requests[i] === null ? null : requests[i] - byBucket(data, "ok")[i]));
  const endpoints = [...new Set(data.split.map((r) => r.endpoint_id))];
  const splitIndex = new Map(data.split.map((r) => [`${r.t}|${r.endpoint_id}`, r.requests]));
  const stacks = endpoints.map((e) => ({ name: e, values: xs.map((t) => splitIndex.get(`${t}|${e}`) || 0) }));
  return h("div", { class: "grid g2" },
    chartCard("Requests over time", data, () => lineChart(xs, [{ name: "requests", values: requests }, { name: "failures", values: failures }], { xFormat: xf, yFormat: (v) => fmt.int(v), label: "requests over time", colors: ["--accent", "--bad"], integer: true })),
    chartCard("Routing split over time", data, () => stackedBars(xs, stacks, { xFormat: xf, label: "requests per endpoint over time" })),
    chartCard("Average latency", data, () => lineChart(xs, [{ name: "avg latency", values: byBucket(data, "latency_avg_ms") }], { xFormat: xf, yFormat: fmt.ms, label: "average latency over time" })),
    chartCard("Cost", data, () => lineChart(xs, [{ name: "cost", values: byBucket(data, "cost_usd") }], { xFormat: xf, yFormat: fmt.usd, label: "cost over time" }),
      { partial: data.partial.cost ? `Partial: ${fmt.int(data.totals.costed)} of ${fmt.int(data.totals.requests)} requests have a price` : null, unsupported: data.unsupported.cost }));
}

export function breakdown(data) {
  const b = data.breakdown;
  const rows = b.rows;
  const body = h("div", {},
    data.truncated ? notice(`Truncated: showing the ${rows.length} largest of ${b.groups} groups`) : null,
    table([
      { key: "value", label: b.dimension, render: (r) => r.value ?? "(none)" },
      { key: "requests", label: "Requests", num: true, render: (r) => fmt.int(r.requests) },
      { key: "ok", label: "Success", num: true, render: (r) => fmt.pct(r.requests ? r.ok / r.requests : null) },
      { key: "lat", label: "Avg latency", num: true, render: (r) => fmt.ms(r.latency_avg_ms) },
      { key: "cost", label: "Cost", num: true, render: (r) => (r.costed ? fmt.usd(r.cost_usd) : "–") },
      { key: "fallbacks", label: "Fallbacks", num: true, render: (r) => fmt.int(r.fallbacks) },
    ], rows, { empty: "No data in this slice" }));
  return body;
}
