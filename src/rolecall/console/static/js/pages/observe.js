// Observe: shared filters, request analytics + ledger for the same slice; routing analytics + Router-vs-Observe.
import { api, query } from "../api.js";
import { WINDOWS, breakdown, charts, stats } from "../analytics.js";
import { badge, card, clear, fmt, h, range, select, stateBox, statusBadge, table } from "../ui.js";

const DIMENSIONS = ["source", "endpoint", "model", "provider", "role", "operation", "status"];
const slice = { window: "24h", source: "", endpoint: "", model: "", provider: "", role: "", operation: "", status: "", group_by: "endpoint", offset: 0 };
const PAGE = 50;

function filterBar(options, onChange) {
  const set = (key) => (v) => { slice[key] = v; slice.offset = 0; onChange(); };
  return h("div", { class: "filters", id: "observe-filters" },
    select("f-window", "Window", WINDOWS, slice.window, set("window")),
    DIMENSIONS.map((d) => select(`f-${d}`, d, [["", "any"], ...options[d]], slice[d], set(d))),
    select("f-group", "Group by", DIMENSIONS, slice.group_by, set("group_by")));
}

function ledger(res, reload) {
  const pager = h("div", { class: "row spread" }, h("span", { class: "muted" }, `${fmt.int(res.total)} requests in this slice`),
    h("span", { class: "row" },
      h("button", { type: "button", disabled: slice.offset === 0, onclick: () => { slice.offset = Math.max(0, slice.offset - PAGE); reload(); } }, "← Newer"),
      h("span", {}, range(slice.offset, PAGE, res.total)),
      h("button", { type: "button", disabled: slice.offset + PAGE >= res.total, onclick: () => { slice.offset += PAGE; reload(); } }, "Older →")));
  return h("div", {}, pager, table([
    { key: "timestamp_ms", label: "Time", render: (r) => fmt.time(r.timestamp_ms) },
    { key: "request_id", label: "Request", render: (r) => h("a", { class: "mono", href: `#/observe/requests/${encodeURIComponent(r.request_id)}` }, r.request_id) },
    { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono ledger-endpoint" }, r.endpoint_id) },
    { key: "role_id", label: "Role", render: (r) => r.role_id || "–" },
    { key: "status_family", label: "Status", render: (r) => h("span", {}, statusBadge(r.status_family), r.error_class ? h("span", { class: "muted" }, ` ${r.error_class}`) : "") },
    { key: "latency_ms", label: "Latency", num: true, render: (r) => fmt.ms(r.latency_ms) },
    { key: "tokens", label: "Tokens in·out", num: true, render: (r) => `${fmt.int(r.tokens_in)} · ${fmt.int(r.tokens_out)}` },
    { key: "cost_usd", label: "Cost", num: true, render: (r) => fmt.usd(r.cost_usd) },
    { key: "source", label: "Source" },
  ], res.data, { empty: "No requests in this slice", onRow: (r) => { location.hash = `#/observe/requests/${encodeURIComponent(r.request_id)}`; } }));
}

async function requestsView(body) {
  const params = query(slice);
  const analytics = h("div", {}, stateBox("loading"));
  const list = h("div", {}, stateBox("loading"));
  clear(body, analytics, card("Request ledger", list));
  const loadList = async () => {
    try { clear(list, ledger(await api(`/api/console/requests${query({ ...slice, limit: PAGE })}`), loadList)); } catch (err) { clear(list, stateBox("error", err.message)); }
  };
  const [a] = await Promise.allSettled([api(`/api/console/analytics${params}`), loadList()]);
  if (a.status === "rejected") clear(analytics, stateBox("error", `Analytics failed: ${a.reason.message}`));
  else clear(analytics, h("div", { class: "grid" }, stats(a.value), charts(a.value), card(`By ${slice.group_by}`, breakdown(a.value))));
}

const VERDICTS = { agrees: ["agrees", "ok"], disagrees: ["disagrees", "bad"], insufficient: ["too little data", "warn"] };

function agreementView(res) {
  return table([
    { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
    { key: "rq", label: "Routing quality", num: true, render: (r) => fmt.score(r.routing?.quality) },
    { key: "rp50", label: "Routing p50", num: true, render: (r) => fmt.ms(r.routing?.latency_ms_p50) },
    { key: "lp50", label: "Live p50", num: true, render: (r) => fmt.ms(r.live.latency_p50_ms) },
    { key: "rf", label: "Routing failures", num: true, render: (r) => fmt.pct(r.routing?.failure_rate) },
    { key: "lf", label: "Live failures", num: true, render: (r) => (r.live.requests ? fmt.pct(1 - r.live.ok / r.live.requests) : "–") },
    { key: "n", label: "Live requests", num: true, render: (r) => fmt.int(r.live.requests) },
    { key: "fresh", label: "Evidence freshness", num: true, render: (r) => fmt.pct(r.routing?.freshness_score, 0) },
    { key: "flags", label: "Agreement", wrap: true, render: (r) => h("div", { class: "agreement", dataset: { verdict: r.verdict } }, badge(VERDICTS[r.verdict][0], VERDICTS[r.verdict][1]), r.flags.map((f) => h("div", { class: "flag" }, f))) },
  ], res.endpoints, { empty: "No endpoints" });
}

async function routingView(body) {
  const params = query(slice);
  const [routing, agreement] = await Promise.all([api(`/api/console/routing${params}`), api(`/api/console/agreement${params}`)]);
  const ca = routing.cost_avoided;
  const avoided = ca.avoided_usd === null
    ? stateBox("unsupported", ca.leader ? `No price for the quality leader ${ca.leader}` : `No quality leader: ${ca.leader_reason}`)
    : h("div", { class: "stat" }, h("div", { class: "label" }, `Cost avoided vs always ${ca.leader}`),
      h("div", { class: "value" }, fmt.usd(ca.avoided_usd)),
      h("div", { class: "sub" }, `${fmt.usd(ca.actual_usd)} actual vs ${fmt.usd(ca.leader_usd)} on the leader (${ca.leader_reason}) over ${fmt.int(ca.requests)} successful requests`));
  clear(body,
    h("div", { class: "grid g2" }, card("Cost avoided", avoided),
      card("Decisions by strategy", table([{ key: "value", label: "Strategy", render: (r) => r.value ?? "(none)" }, { key: "requests", label: "Requests", num: true }, { key: "fallbacks", label: "Fallbacks", num: true }], routing.strategies, { empty: "No data in this slice" }))),
    card("Routing volume by endpoint", table([
      { key: "value", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.value) },
      { key: "requests", label: "Requests", num: true, render: (r) => fmt.int(r.requests) },
      { key: "share", label: "Share", num: true, render: (r) => fmt.pct(routing.totals.requests ? r.requests / routing.totals.requests : null) },
      { key: "ok", label: "Success", num: true, render: (r) => fmt.pct(r.requests ? r.ok / r.requests : null) },
      { key: "fallbacks", label: "Ran as fallback", num: true, render: (r) => fmt.int(r.fallbacks) },
      { key: "cost", label: "Cost", num: true, render: (r) => fmt.usd(r.cost_usd) },
    ], routing.volume, { empty: "No data in this slice" })),
    card("Router vs Observe", h("div", {}, h("p", { class: "muted" }, "Each endpoint's profile used for routing beside what live traffic in this slice shows. If they disagree, check inventory, role activation, health and evidence freshness before tuning weights."), agreementView(agreement))));
}

export async function render({ page, path }) {
  const models = await api("/api/console/models");
  const bindings = await api("/api/console/bindings");
  const uniq = (xs) => [...new Set(xs.filter(Boolean))];
  const options = {
    source: ["live_request", "benchmark"],
    endpoint: models.data.map((e) => e.endpoint_id),
    model: uniq(models.data.map((e) => e.model)),
    provider: uniq(models.data.map((e) => e.provider_kind)),
    role: bindings.roles.map((r) => r.role_id),
    operation: uniq(bindings.roles.flatMap((r) => r.tasks)),
    status: ["2xx", "4xx", "5xx"],
  };
  const routing = path === "#/observe/routing";
  const body = h("div", { class: "grid" });
  const load = async () => {
    clear(bar, filterBar(options, load));
    try { await (routing ? routingView(body) : requestsView(body)); } catch (err) { clear(body, stateBox("error", err.message)); }
  };
  const bar = h("div", {});
  clear(page, card(routing ? "Routing analytics" : "Requests", bar, h("span", { class: "row" }, h("a", { href: routing ? "#/observe" : "#/observe/routing" }, routing ? "Requests →" : "Routing analytics →"), badge("filters are shared", "info"))), body);
  await load();
  return null;
}
