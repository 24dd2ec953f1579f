// Router: posture with what-if preview, candidates per role, prompt box, decisions with filters.
import { api, query } from "../api.js";
import { badge, card, clear, fmt, h, notice, range, select, stateBox, table, toast } from "../ui.js";
import { remember, restore } from "../urlstate.js";

function delta(v, format, betterUp) {
  if (v === null || v === undefined) return "–";
  const good = betterUp ? v > 0 : v < 0;
  const text = `${v > 0 ? "+" : v < 0 ? "−" : "±"}${format(Math.abs(v))}`;
  return v === 0 ? text : badge(text, good ? "ok" : "bad");
}

function replayView(p, what, id) {
  const row = (label, key, format, betterUp) => h("tr", {}, h("th", { scope: "row" }, label),
    h("td", { class: "num" }, format(p.current[key])), h("td", { class: "num" }, format(p.proposed[key])),
    h("td", { class: "num" }, delta(p.delta[key], format, betterUp)));
  return h("div", { class: "grid" },
    h("p", {}, h("b", { id }, `${p.moved} of ${p.replayed}`), ` ${what} would move.`),
    h("div", { class: "grid g2" },
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Expected"), h("th", { class: "num" }, "Current"), h("th", { class: "num" }, "Proposed"), h("th", { class: "num" }, "Change"))),
        h("tbody", {}, row("Quality (mean score)", "quality", fmt.score, true), row("Latency", "latency_ms", fmt.ms, false), row("Cost (all replayed)", "cost_usd", fmt.usd, false)))),
      table([{ key: "from", label: "From" }, { key: "to", label: "To" }, { key: "count", label: "Count", num: true }], p.moves, { empty: "Nothing would change endpoint" })),
    h("div", { class: "muted" }, "Proposed split: ", Object.entries(p.proposed.by_endpoint).map(([e, n]) => `${e} ${n}`).join(" · ") || "–"));
}

function previewView(p) {
  const cases = p.benchmark_cases;
  return h("div", { class: "grid", id: "whatif" },
    p.note ? notice(p.note) : null,
    h("h3", {}, "Recent requests, replayed with the real router on today's evidence"),
    p.replayed ? replayView(p, "recent requests", "whatif-moved") : stateBox("empty", "No stored requests to replay yet"),
    h("h3", {}, "Benchmark cases"),
    cases.replayed ? replayView(cases, "benchmark cases", "whatif-cases-moved") : stateBox("unsupported", cases.unavailable || "No benchmark cases"));
}

function postureCard(data) {
  const draft = { ...data.posture };
  const out = h("div", {});
  const save = h("button", { type: "button", class: "primary", id: "posture-save", disabled: true }, "Save posture");
  const invalidate = () => { save.disabled = true; clear(out, h("p", { class: "muted" }, "Preview the change before saving it.")); };
  const modeOptions = data.choices.mode.map((m) => [m.mode, m.available ? m.mode : `${m.mode} (not available)`]);
  const controls = h("div", { class: "filters" },
    select("posture-strategy", "Scoring strategy", data.choices.strategy, draft.strategy, (v) => { draft.strategy = v; invalidate(); }),
    select("posture-mode", "Routing mode", modeOptions, draft.mode, (v) => { draft.mode = v; invalidate(); }),
    select("posture-scope", "Execution scope", data.choices.execution_scope, draft.execution_scope, (v) => { draft.execution_scope = v; invalidate(); }),
    select("posture-compute", "Compute preference", data.choices.compute_preference, draft.compute_preference, (v) => { draft.compute_preference = v; invalidate(); }),
    h("button", { type: "button", id: "posture-preview", onclick: async () => {
      clear(out, stateBox("loading", "Replaying recent requests…"));
      try {
        clear(out, previewView(await api("/api/console/posture/preview", { method: "POST", body: draft })));
        save.disabled = false;
      } catch (err) { clear(out, stateBox("error", err.message)); }
    } }, "Preview"),
    save);
  save.addEventListener("click", async () => {
    try {
      const res = await api("/api/console/posture", { method: "PUT", body: draft });
      toast(`Saved: ${res.posture.strategy} · ${res.posture.execution_scope}. New requests use it now.`);
      save.disabled = true;
      document.dispatchEvent(new CustomEvent("posture-saved"));
    } catch (err) { toast(err.message, true); }
  });
  invalidate();
  return card("Routing posture", h("div", { class: "grid" },
    h("p", { class: "muted" }, "Current: ", h("b", { id: "posture-current" }, `${data.posture.strategy} · ${data.posture.mode} · ${data.posture.execution_scope} · ${data.posture.compute_preference}`)),
    controls, out));
}

// The targets the scores are normalised against, and where each came from (policy, pool, reference).
function targetsLine(t) {
  if (!t?.sources) return null;
  const s = t.sources;
  return h("p", { class: "muted", id: "targets-in-use" }, "Targets: latency ", fmt.ms(t.latency_target_ms), ` (max ${fmt.ms(t.latency_max_ms)}, ${s.latency_target_ms})`,
    ` · throughput ${fmt.num(t.throughput_target_tps)} tok/s (${s.throughput_target_tps}) · cost ${t.cost_target} per 1k tokens (${s.cost_target})`);
}

// Metrics that score the same for every candidate of the default ranking: their weight decides nothing.
function flatNotice(data) {
  const warnings = data.roles.find((r) => r.role_id === null)?.warnings || [];
  return warnings.length ? h("div", { id: "flat-metrics" }, warnings.map((w) => notice(w))) : null;
}

function candidatesView(data) {
  return h("div", { class: "grid" }, targetsLine(data.targets), flatNotice(data), candidatesTable(data), ceilingsTable(data.ceilings || []));
}

// Each endpoint's difficulty ceiling (the difficulty and hybrid modes exclude it from harder
// requests): declared in rolecall.yaml, or derived from its benchmark quality per bucket.
function ceilingsTable(rows) {
  const verdicts = (ev) => (ev ? Object.entries(ev.verdicts).map(([b, v]) => `${b}: ${v}`).join("; ") : "no benchmark evidence");
  return h("div", { id: "difficulty-ceilings" }, h("h3", {}, "Difficulty ceilings"), table([
    { key: "endpoint_id", label: "Endpoint", render: (r) => h("span", { class: "mono" }, r.endpoint_id) },
    { key: "max_difficulty", label: "Ceiling", render: (r) => (r.max_difficulty ? badge(r.max_difficulty, r.max_difficulty === "hard" ? "ok" : "warn") : h("span", { class: "muted" }, "none")) },
    { key: "source", label: "From", render: (r) => r.source || "–" },
    { key: "evidence", label: "Benchmark buckets", wrap: true, render: (r) => h("span", { class: "muted", title: r.evidence?.why || "" }, verdicts(r.evidence)) },
  ], rows, { empty: "No endpoints" }));
}

function candidatesTable(data) {
  return table([
    { key: "role", label: "Role", render: (r) => r.role_id || h("span", { class: "muted" }, "(no role)") },
    { key: "task", label: "Task", render: (r) => r.task_type },
    { key: "ranked", label: `Ranking (${data.strategy})`, wrap: true, render: (r) => (r.ranked.length ? r.ranked.map((c, i) => h("span", {}, i ? " › " : "", h("span", { class: "mono" }, c.endpoint_id), h("span", { class: "muted" }, ` ${c.total_score.toFixed(3)}`))) : badge("no eligible endpoint", "bad")) },
    { key: "excluded", label: "Excluded", wrap: true, render: (r) => r.excluded.map((e) => h("span", { title: e.exclusions.map((x) => x.detail).join("; ") }, badge(`${e.endpoint_id}: ${e.exclusions.map((x) => x.code).join(",")}`, "warn"), " ")) },
    { key: "flat", label: "Not discriminating", wrap: true, render: (r) => (r.warnings?.length ? r.warnings.map((w) => h("span", { title: w }, badge(w.split(" ")[0], "warn"), " ")) : "–") },
  ], data.roles);
}

function promptCard() {
  const text = h("textarea", { id: "prompt-text", placeholder: "Ask something; it goes through the gateway like any client request." });
  const model = h("input", { id: "prompt-model", value: "default", size: 24 });
  const out = h("div", { id: "prompt-result" });
  const send = h("button", { type: "button", class: "primary", id: "prompt-send", onclick: async () => {
    send.disabled = true;
    clear(out, stateBox("loading", "Routing and running…"));
    try {
      const res = await api("/api/console/prompt", { method: "POST", body: { prompt: text.value, model: model.value } });
      if (!res.ok) { clear(out, stateBox("error", res.error?.error?.message || `HTTP ${res.status}`)); return; }
      const answer = res.response?.choices?.[0]?.message?.content ?? JSON.stringify(res.response);
      clear(out, h("div", { class: "grid" },
        h("div", { class: "row" }, "Routed to ", h("b", { id: "prompt-endpoint", class: "mono" }, res.endpoint_id || "–"),
          res.decision_id ? h("a", { id: "prompt-decision-link", href: `#/router/decisions/${encodeURIComponent(res.decision_id)}` }, "Open decision →") : null,
          res.request_id ? h("a", { href: `#/observe/requests/${encodeURIComponent(res.request_id)}` }, "Open in Observe →") : null),
        h("div", { class: "answer" }, answer)));
      document.dispatchEvent(new CustomEvent("prompt-sent"));
    } catch (err) { clear(out, stateBox("error", err.message)); } finally { send.disabled = false; }
  } }, "Send");
  return card("Try a prompt", h("div", { class: "grid" }, text,
    h("div", { class: "row" }, h("label", { for: "prompt-model" }, "Model / alias / role"), model, send), out));
}

const DECISION_FILTERS = { endpoint: "", strategy: "", outcome: "", offset: 0 };
const filters = { ...DECISION_FILTERS };

function decisionsCard(endpoints, pageSize) {
  Object.assign(filters, restore(DECISION_FILTERS)); // filters and page live in the URL
  const out = h("div", {});
  const load = async () => {
    remember(filters, DECISION_FILTERS);
    clear(out, stateBox("loading"));
    try {
      const res = await api(`/api/console/decisions${query({ ...filters, limit: pageSize })}`);
      const pager = h("div", { class: "row spread" }, h("span", { class: "muted" }, `${fmt.int(res.total)} decisions`),
        h("span", { class: "row" },
          h("button", { type: "button", disabled: filters.offset === 0, onclick: () => { filters.offset = Math.max(0, filters.offset - pageSize); load(); } }, "← Newer"),
          h("span", {}, range(filters.offset, pageSize, res.total)),
          h("button", { type: "button", disabled: filters.offset + pageSize >= res.total, onclick: () => { filters.offset += pageSize; load(); } }, "Older →")));
      clear(out, pager, table([
        { key: "created_ms", label: "Time", render: (d) => fmt.time(d.created_ms) },
        { key: "routing_decision_id", label: "Decision", render: (d) => h("a", { class: "mono", href: `#/router/decisions/${encodeURIComponent(d.routing_decision_id)}` }, d.routing_decision_id) },
        { key: "chosen", label: "Chosen", render: (d) => (d.chosen_endpoint_id ? h("span", { class: "mono" }, d.chosen_endpoint_id) : badge("no eligible endpoint", "bad")) },
        { key: "strategy", label: "Strategy" },
        { key: "elig", label: "Eligible", num: true, render: (d) => `${d.eligible} / ${d.candidates}` },
        { key: "fallbacks", label: "Fallbacks", num: true },
        { key: "measured", label: "Evidence", render: (d) => badge(d.used_measured ? "measured" : "declared", d.used_measured ? "ok" : "") },
        { key: "reasons", label: "Reasons", render: (d) => h("span", { title: d.selection_reasons.join("\n") }, d.selection_reasons[0] || "–", d.selection_reasons.length > 1 ? h("span", { class: "muted" }, ` +${d.selection_reasons.length - 1}`) : "") },
      ], res.data, { empty: "No decisions match", onRow: (d) => { location.hash = `#/router/decisions/${encodeURIComponent(d.routing_decision_id)}`; } }));
    } catch (err) { clear(out, stateBox("error", err.message)); }
  };
  const set = (key) => (v) => { filters[key] = v; filters.offset = 0; load(); };
  const bar = h("div", { class: "filters" },
    select("dec-endpoint", "Chosen endpoint", [["", "any"], ...endpoints], filters.endpoint, set("endpoint")),
    select("dec-strategy", "Strategy", [["", "any"], "balanced", "quality", "latency", "cost"], filters.strategy, set("strategy")),
    select("dec-outcome", "Outcome", [["", "any"], ["routed", "routed"], ["no_endpoint", "no eligible endpoint"]], filters.outcome, set("outcome")));
  load();
  return { el: card("Decisions", h("div", { class: "grid" }, bar, out)), load };
}

export async function render({ page, path }) {
  const [posture, cands, models] = await Promise.all([
    api("/api/console/posture"), api("/api/console/candidates"), api("/api/console/models")]);
  const endpoints = models.data.map((e) => e.endpoint_id);
  if (path === "#/router/decisions") {
    clear(page, decisionsCard(endpoints, 50).el);
    return null;
  }
  const candBox = h("div", {}, candidatesView(cands));
  const decisions = decisionsCard(endpoints, 10);
  const onSaved = async () => {
    clear(candBox, candidatesView(await api("/api/console/candidates")));
    const fresh = await api("/api/console/posture");
    const current = document.getElementById("posture-current");
    if (current) current.textContent = `${fresh.posture.strategy} · ${fresh.posture.mode} · ${fresh.posture.execution_scope} · ${fresh.posture.compute_preference}`;
  };
  const onPrompt = () => decisions.load();
  document.addEventListener("posture-saved", onSaved);
  document.addEventListener("prompt-sent", onPrompt);
  clear(page, postureCard(posture), card("Candidates per role", candBox), promptCard(), decisions.el);
  return () => {
    document.removeEventListener("posture-saved", onSaved);
    document.removeEventListener("prompt-sent", onPrompt);
  };
}
