// Observe: shared filters, request analytics + ledger for the same slice, a live tail and request-id
// search; routing analytics + Router-vs-Observe. Filters, window, grouping, page and the live toggle
// live in the URL (#/observe?window=1h&endpoint=…), so a reload or a shared link shows the same slice.
import { api, query } from "../api.js";
import { WINDOWS, breakdown, charts, stats } from "../analytics.js";
import { searchForm } from "../search.js";
import { tail } from "../tail.js";
import { badge, card, clear, fmt, h, outcomeBadge, range, select, stateBox, statusBadge, table, tableRow } from "../ui.js";
import { remember, restore } from "../urlstate.js";

const DIMENSIONS = ["source", "endpoint", "model", "provider", "role", "operation", "status", "outcome"];
const DEFAULTS = { window: "24h", source: "", endpoint: "", model: "", provider: "", role: "", operation: "", status: "", outcome: "", group_by: "endpoint", offset: 0, live: "" };
const PAGE = 50;
const FRESH_RELOAD_MS = 5000; // analytics catch up this long after the live tail brought requests

function filterBar(slice, options, onChange) {
  const set = (key) => (v) => { slice[key] = v; slice.offset = 0; onChange(); };
  return h("div", { class: "filters", id: "observe-filters" },
    select("f-window", "Window", WINDOWS, slice.window, set("window")),
    DIMENSIONS.map((d) => select(`f-${d}`, d, [["", "any"], ...options[d]], slice[d], set(d))),
    select("f-group", "Group by", DIMENSIONS, slice.group_by, set("group_by")));
}

const LEDGER = [
  { key: "timestamp_ms", label: "Time", render: (r) => fmt.time(r.timestamp_ms) },
  { key: "request_id", label: "Request", render: (r) => h("a", { class: "mono", href: `#/observe/requests/${encodeURIComponent(r.request_id)}` }, r.request_id) },
  { key: "outcome", label: "Outcome", render: (r) => outcomeBadge(r.outcome) },
  { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono ledger-endpoint" }, r.endpoint_id) },
  { key: "role_id", label: "Role", render: (r) => r.role_id || "–" },
  { key: "status_family", label: "Status", render: (r) => h("span", {}, statusBadge(r.status_family), r.error_class ? h("span", { class: "muted" }, ` ${r.error_class}`) : "") },
  { key: "latency_ms", label: "Latency", num: true, render: (r) => (r.outcome === "served" || r.outcome === "failed" ? fmt.ms(r.latency_ms) : "–") },
  { key: "tokens", label: "Tokens in·out", num: true, render: (r) => `${fmt.int(r.tokens_in)} · ${fmt.int(r.tokens_out)}` },
  { key: "cost_usd", label: "Cost", num: true, render: (r) => fmt.usd(r.cost_usd) },
  { key: "source", label: "Source" },
];
const openRequest = (r) => { location.hash = `#/observe/requests/${encodeURIComponent(r.request_id)}`; };

function ledger(slice, res, reload) {
  const move = (offset) => () => { slice.offset = Math.max(0, offset); reload(); };
  const pager = h("div", { class: "row spread" }, h("span", { class: "muted", id: "ledger-total" }, `${fmt.int(res.total)} in this slice`),
    h("span", { class: "row" },
      h("button", { type: "button", id: "ledger-newer", disabled: slice.offset === 0, onclick: move(slice.offset - PAGE) }, "← Newer"),
      h("span", { id: "ledger-range" }, range(slice.offset, PAGE, res.total)),
      h("button", { type: "button", id: "ledger-older", disabled: slice.offset + PAGE >= res.total, onclick: move(slice.offset + PAGE) }, "Older →")));
  return h("div", {}, pager, table(LEDGER, res.data, { empty: "No requests in this slice", onRow: openRequest, rowClass: (r) => `ledger-row outcome-${r.outcome}` }));
}

// New requests of the slice go on top of the ledger's first page as the tail delivers them.
function liveLedger(list, res) {
  return (row) => {
    if (res.data.some((r) => r.request_id === row.request_id)) return;
    res.total += 1;
    res.data.unshift(row);
    const body = list.querySelector("tbody");
    const total = list.querySelector("#ledger-total");
    if (!body) return false; // an empty ledger: the caller draws it again
    body.prepend(tableRow(LEDGER, row, { onRow: openRequest, rowClass: (r) => `ledger-row fresh outcome-${r.outcome}` }));
    while (body.children.length > PAGE) body.lastElementChild.remove();
    if (total) total.textContent = `${fmt.int(res.total)} in this slice`;
    return true;
  };
}

async function requestsView(slice, body, liveState) {
  const filters = Object.fromEntries(DIMENSIONS.map((d) => [d, slice[d]]));
  const analytics = h("div", {}, stateBox("loading"));
  const list = h("div", { id: "ledger" }, stateBox("loading"));
  clear(body, analytics, card("Request ledger", list, liveState.toggle));
  const loadAnalytics = async () => {
    try {
      const a = await api(`/api/console/analytics${query({ ...slice, offset: undefined, live: undefined })}`);
      clear(analytics, h("div", { class: "grid" }, stats(a), charts(a), card(`By ${slice.group_by}`, breakdown(a))));
    } catch (err) { clear(analytics, stateBox("error", `Analytics failed: ${err.message}`)); }
  };
  let res = null;
  const loadList = async () => {
    remember(slice, DEFAULTS);
    try {
      res = await api(`/api/console/requests${query({ ...filters, window: slice.window, offset: slice.offset, limit: PAGE })}`);
      clear(list, ledger(slice, res, loadList));
    } catch (err) { clear(list, stateBox("error", err.message)); }
  };
  await Promise.all([loadAnalytics(), loadList()]);
  if (!slice.live) return null;
  let timer = null;
  const stop = tail(`/api/console/requests/stream${query(filters)}`, {
    onRequest: (row) => {
      if (slice.offset !== 0 || !res) return;
      if (!liveLedger(list, res)(row)) clear(list, ledger(slice, res, loadList));
      clearTimeout(timer);
      timer = setTimeout(loadAnalytics, FRESH_RELOAD_MS);
    },
    onState: liveState.show,
  });
  return () => { stop(); clearTimeout(timer); };
}

const VERDICTS = { agrees: ["agrees", "ok"], disagrees: ["disagrees", "bad"], insufficient: ["too little data", "warn"] };

function agreementView(res) {
  return table([
    { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
    { key: "rq", label: "Routing quality", num: true, render: (r) => fmt.score(r.routing?.quality) },
    { key: "rp50", label: "Routing p50", num: true, render: (r) => fmt.ms(r.routing?.latency_ms_p50) },
    { key: "lp50", label: "Live p50", num: true, render: (r) => fmt.ms(r.live.latency_p50_ms) },
    { key: "rf", label: "Routing failures", num: true, render: (r) => fmt.pct(r.routing?.failure_rate) },
    { key: "lf", label: "Live failures", num: true, render: (r) => fmt.pct(r.live.failure_rate) },
    { key: "n", label: "Live requests run", num: true, render: (r) => fmt.int(r.live.executed) },
    { key: "fresh", label: "Evidence freshness", num: true, render: (r) => fmt.pct(r.routing?.freshness_score, 0) },
    { key: "flags", label: "Agreement", wrap: true, render: (r) => h("div", { class: "agreement", dataset: { verdict: r.verdict } }, badge(VERDICTS[r.verdict][0], VERDICTS[r.verdict][1]), r.flags.map((f) => h("div", { class: "flag" }, f))) },
  ], res.endpoints, { empty: "No endpoints" });
}

async function routingView(slice, body) {
  remember(slice, DEFAULTS);
  const params = query({ ...slice, offset: undefined, live: undefined, group_by: undefined });
  const [routing, agreement] = await Promise.all([api(`/api/console/routing${params}`), api(`/api/console/agreement${params}`)]);
  const ca = routing.cost_avoided;
  const avoided = ca.avoided_usd === null
    ? stateBox("unsupported", ca.leader ? `No price for the quality leader ${ca.leader}` : `No quality leader: ${ca.leader_reason}`)
    : h("div", { class: "stat" }, h("div", { class: "label" }, `Cost avoided vs always ${ca.leader}`),
      h("div", { class: "value" }, fmt.usd(ca.avoided_usd)),
      h("div", { class: "sub" }, `${fmt.usd(ca.actual_usd)} actual vs ${fmt.usd(ca.leader_usd)} on the leader (${ca.leader_reason}) over ${fmt.int(ca.requests)} served requests`));
  clear(body,
    h("div", { class: "grid g2" }, card("Cost avoided", avoided),
      card("Decisions by strategy", table([{ key: "value", label: "Strategy", render: (r) => r.value ?? "(none)" }, { key: "requests", label: "Requests", num: true }, { key: "refused", label: "Refused", num: true }, { key: "fallbacks", label: "Fallbacks", num: true }, { key: "decisions", label: "Decision-only", num: true }], routing.strategies, { empty: "No data in this slice" }))),
    card("Routing volume by endpoint", table([
      { key: "value", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.value) },
      { key: "requests", label: "Requests", num: true, render: (r) => fmt.int(r.requests) },
      { key: "share", label: "Share", num: true, render: (r) => fmt.pct(routing.totals.requests ? r.requests / routing.totals.requests : null) },
      { key: "ok", label: "Success", num: true, render: (r) => fmt.pct(r.success_rate) },
      { key: "refused", label: "Refused", num: true, render: (r) => fmt.int(r.refused) },
      { key: "fallbacks", label: "Ran as fallback", num: true, render: (r) => fmt.int(r.fallbacks) },
      { key: "cost", label: "Cost", num: true, render: (r) => fmt.usd(r.cost_usd) },
      { key: "decisions", label: "Decision-only", num: true, render: (r) => fmt.int(r.decisions) },
    ], routing.volume, { empty: "No data in this slice" })),
    card("Router vs Observe", h("div", {}, h("p", { class: "muted" }, "Each endpoint's profile used for routing beside what live traffic in this slice shows. If they disagree, check inventory, role activation, health and evidence freshness before tuning weights."), agreementView(agreement))));
  return null;
}

function liveControls(slice, onToggle) {
  const status = h("span", { class: "muted", id: "live-status", role: "status" });
  const button = h("button", { type: "button", id: "live-toggle", "aria-pressed": String(Boolean(slice.live)), onclick: () => { slice.live = slice.live ? "" : "1"; onToggle(); } }, slice.live ? "● Live" : "○ Live");
  const show = (state, message) => {
    status.dataset.state = state;
    status.textContent = state === "live" ? "tailing new requests" : `reconnecting… ${message || ""}`;
  };
  return { toggle: h("span", { class: "row" }, status, button), show };
}

// the last slice of this tab: the nav's plain "#/observe" link opens it again
let lastSlice = null;

export async function render({ page, path }) {
  const slice = restore(location.hash.includes("?") || !lastSlice ? DEFAULTS : { ...lastSlice, offset: 0 });
  const [models, bindings] = await Promise.all([api("/api/console/models"), api("/api/console/bindings")]);
  const uniq = (xs) => [...new Set(xs.filter(Boolean))];
  const options = {
    source: ["live_request", "benchmark"],
    endpoint: uniq([...models.data.map((e) => e.endpoint_id), slice.endpoint]),
    model: uniq([...models.data.map((e) => e.model), slice.model]),
    provider: uniq([...models.data.map((e) => e.provider_kind), slice.provider]),
    role: uniq([...bindings.roles.map((r) => r.role_id), slice.role]),
    operation: uniq([...bindings.roles.flatMap((r) => r.tasks), slice.operation]),
    status: ["2xx", "4xx", "5xx"],
    outcome: [["served", "served"], ["failed", "failed"], ["refused", "refused"], ["decision_only", "decision only"]],
  };
  const routing = path === "#/observe/routing";
  const body = h("div", { class: "grid" });
  const bar = h("div", {});
  const other = h("a", { id: "observe-other" }, routing ? "Requests →" : "Routing analytics →");
  let stop = null;
  const load = async () => {
    if (stop) { stop(); stop = null; }
    lastSlice = { ...slice };
    clear(bar, filterBar(slice, options, load));
    const live = liveControls(slice, load);
    try { stop = await (routing ? routingView(slice, body) : requestsView(slice, body, live)); } catch (err) { clear(body, stateBox("error", err.message)); }
    const shared = query(Object.fromEntries(Object.entries(slice).filter(([k, v]) => v !== DEFAULTS[k] && k !== "offset" && k !== "live")));
    other.setAttribute("href", `${routing ? "#/observe" : "#/observe/routing"}${shared}`);
  };
  const links = h("span", { class: "row" }, other, badge("filters are shared", "info"));
  clear(page, card(routing ? "Routing analytics" : "Requests", h("div", { class: "grid" }, routing ? null : searchForm(), bar), links), body);
  await load();
  return () => { if (stop) stop(); };
}
