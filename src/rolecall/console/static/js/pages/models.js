// Models: endpoint health and evidence, the model × role activation matrix, discover and add.
import { api } from "../api.js";
import { badge, card, clear, fmt, h, stateBox, table, toast } from "../ui.js";

function statusCell(e) {
  if (e.cooldown) return h("span", {}, badge("cooldown", "warn"), " ", h("span", { class: "muted" }, `${fmt.left(e.cooldown.remaining_ms)} left · ${e.cooldown.reason}`));
  const kind = { active: "ok", offline: "bad", disabled: "" }[e.status] ?? "warn";
  return badge(e.status, kind);
}

function quality(o) {
  if (!o) return null;
  return o.judge_score ?? o.quality_score ?? null;
}

function evidenceCell(e) {
  const ev = e.evidence;
  if (ev.needs_rebenchmark) return badge("re-benchmark needed", "bad");
  if (ev.never_benchmarked) return badge("never benchmarked", "warn");
  return h("span", {}, badge(`${ev.benchmark_samples} bench samples`, "ok"), " ", h("span", { class: "muted" }, fmt.ago(ev.last_benchmark_ms)));
}

function declaredCell(e) {
  const price = e.price_per_1m.input === null ? "no price" : `$${e.price_per_1m.input} · $${e.price_per_1m.output} /1M`;
  return h("span", { title: `capabilities: ${e.declared.capabilities.join(", ")}` }, `${fmt.int(e.declared.max_context_tokens)} ctx · ${price}`);
}

function observedCell(e) {
  const o = e.observed;
  if (!o) return h("span", { class: "muted" }, "no observed profile");
  return h("span", {}, `q ${fmt.score(quality(o))} · ${fmt.ms(o.latency_ms_p50)} p50 · ${fmt.pct(o.failure_rate)} fail`,
    h("div", { class: "muted" }, `${fmt.int(o.sources.benchmark_samples)} bench + ${fmt.int(o.sources.live_request_samples)} live · fresh ${fmt.pct(o.freshness_score, 0)} · conf ${fmt.pct(o.confidence_score, 0)}`));
}

function endpointsTable(items, reload) {
  return table([
    { key: "endpoint_id", label: "Endpoint", render: (e) => h("div", {}, h("span", { class: "mono" }, e.endpoint_id), h("div", { class: "muted" }, `${e.model} @ ${e.provider}`)) },
    { key: "where", label: "Where", render: (e) => badge(e.local ? "local" : "remote", e.local ? "info" : "") },
    { key: "status", label: "Health", render: statusCell },
    { key: "declared", label: "Declared profile", render: declaredCell },
    { key: "observed", label: "Observed profile", render: observedCell },
    { key: "ev", label: "Benchmark evidence", render: evidenceCell },
    { key: "act", label: "", render: (e) => (e.cooldown ? h("button", { type: "button", onclick: async () => { await api(`/api/cooldowns/${encodeURIComponent(e.endpoint_id)}`, { method: "DELETE" }); toast(`Cooldown of ${e.endpoint_id} cleared`); reload(); } }, "Clear cooldown") : "") },
  ], items, { rowClass: () => "endpoint-row", empty: "No endpoints configured: discover a server below or edit rolecall.yaml" });
}

const NEXT = { auto: "active", active: "disabled", disabled: "auto" };

function matrix(view, reload) {
  if (!view.endpoints.length) return stateBox("empty", "No endpoints to bind");
  const cell = new Map(view.cells.map((c) => [`${c.role_id}|${c.endpoint_id}`, c.status]));
  const head = h("tr", {}, h("th", { scope: "col" }, "Role"), view.endpoints.map((e) => h("th", { scope: "col", class: "mono" }, e)));
  const rows = view.roles.map((r) => h("tr", {},
    h("th", { scope: "row" }, r.role_id),
    view.endpoints.map((e) => {
      const status = cell.get(`${r.role_id}|${e}`);
      return h("td", {}, h("button", {
        type: "button", class: status, "aria-label": `${r.role_id} on ${e}: ${status}; change to ${NEXT[status]}`,
        onclick: async () => {
          try {
            await api("/api/console/bindings", { method: "PUT", body: { role_id: r.role_id, endpoint_id: e, status: NEXT[status] } });
            toast(`${r.role_id} on ${e}: ${NEXT[status]} (applied to the running router)`);
            reload();
          } catch (err) { toast(err.message, true); }
        },
      }, status));
    })));
  return h("div", {},
    h("p", { class: "muted" }, "Click a cell to cycle auto → active → disabled. auto: the endpoint serves the role when its capabilities allow. Changes apply at once and mark benchmark evidence for re-grading."),
    h("div", { class: "table-wrap" }, h("table", { class: "matrix" }, h("thead", {}, head), h("tbody", {}, rows))));
}

function discoverForm(reload) {
  const out = h("div", {});
  const url = h("input", { id: "discover-url", placeholder: "http://127.0.0.1:8080", size: 34 });
  const provider = h("input", { id: "discover-provider", placeholder: "provider name", size: 16 });
  const discover = async () => {
    clear(out, stateBox("loading", "Asking the server what it serves…"));
    try {
      const found = await api("/api/console/discover", { method: "POST", body: { url: url.value } });
      clear(out, h("p", {}, `${found.kind} at `, h("code", {}, found.base_url), ` serves ${found.models.length} models:`),
        table([{ key: "model", label: "Model" }, { key: "c", label: "", render: (m) => (m.configured ? badge("configured", "ok") : badge("new", "info")) }], found.models));
    } catch (err) { clear(out, stateBox("error", err.message)); }
  };
  const add = async () => {
    try {
      const res = await api("/api/console/endpoints", { method: "POST", body: { url: url.value, provider: provider.value } });
      toast(`Added ${res.added} endpoints to rolecall.yaml: ${res.endpoints.join(", ") || "none new"}`);
      reload();
    } catch (err) { toast(err.message, true); }
  };
  return h("div", {},
    h("div", { class: "row" },
      h("label", { for: "discover-url" }, "Server URL"), url,
      h("label", { for: "discover-provider" }, "Provider"), provider,
      h("button", { type: "button", onclick: discover }, "Discover"),
      h("button", { type: "button", class: "primary", onclick: add }, "Add to inventory")),
    out);
}

export async function render({ page }) {
  const endpoints = h("div", {}, stateBox("loading"));
  const roles = h("div", {}, stateBox("loading"));
  const load = async () => {
    const [models, bindings] = await Promise.all([api("/api/console/models"), api("/api/console/bindings")]);
    const local = models.data.filter((e) => e.local).length;
    clear(endpoints, card(`Endpoints (${models.data.length}: ${local} local, ${models.data.length - local} remote)`, endpointsTable(models.data, load), h("a", { href: "#/models/benchmark" }, "Benchmark →")));
    clear(roles, card("Model × role activation", matrix(bindings, load)));
  };
  clear(page, endpoints, roles, card("Discover and add endpoints", discoverForm(() => load())));
  await load();
  const timer = setInterval(() => load().catch(() => {}), 10000);
  return () => clearInterval(timer);
}
