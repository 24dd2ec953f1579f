// Observe → Request detail: what became of the request, its trace waterfall, usage and decision.
import { api } from "../api.js";
import { badge, card, clear, fmt, h, json, kv, stateBox, table } from "../ui.js";
import { outcomeRows } from "../outcome.js";
import { searchForm } from "../search.js";

function waterfall(spans) {
  if (!spans.length) return h("p", { class: "muted" }, "No spans recorded.");
  const start = Math.min(...spans.map((s) => s.started_at_ms));
  const end = Math.max(...spans.map((s) => s.ended_at_ms));
  const total = Math.max(1, end - start);
  return h("div", { class: "grid", role: "list", "aria-label": "trace waterfall" }, spans.map((s) => {
    const bar = h("div", { class: `wf-bar ${s.status === "error" ? "error" : ""}`, title: JSON.stringify(s.attributes || {}) });
    bar.style.left = `${((s.started_at_ms - start) / total) * 100}%`;
    bar.style.width = `${((s.ended_at_ms - s.started_at_ms) / total) * 100}%`;
    const where = s.attributes?.endpoint_id ? ` · ${s.attributes.endpoint_id}` : "";
    return h("div", { class: "wf-row", role: "listitem" },
      h("span", { class: "mono" }, s.span_type, h("span", { class: "muted" }, where)),
      h("div", { class: "wf-track" }, bar),
      h("span", { class: "num" }, fmt.ms(s.ended_at_ms - s.started_at_ms)));
  }), h("div", { class: "muted" }, `total ${fmt.ms(total)} from ${fmt.time(start)}`));
}

export async function render({ page, params }) {
  let r;
  try {
    r = await api(`/api/console/requests/${encodeURIComponent(params[0])}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    clear(page, card("Request not found", h("div", { class: "grid" },
      stateBox("empty", `No request with id ${params[0]} is stored (yet): ids are the x-rolecall-request-id header of a response.`),
      searchForm(params[0]))));
    return null;
  }
  const u = r.usage[0];
  const f = r.facts;
  const d = r.decision;
  clear(page,
    h("div", { class: "grid g2" },
      card("Request", kv([
        ["Request", h("span", { class: "mono", id: "request-id" }, r.request_id)],
        ...outcomeRows(r.outcome, "request-endpoint"),
        ["Model", u.model_id], ["Provider", u.provider_kind],
        ["Source", u.sample_source || "live_request"], ["App", u.app_id],
        ["Role · operation", f ? `${f.role_id || "–"} · ${f.task_type || "–"}` : "–"],
        ["Time", fmt.time(u.timestamp_ms)],
      ])),
      card("Decision", d ? kv([
        ["Decision", h("a", { class: "mono", href: `#/router/decisions/${encodeURIComponent(d.routing_decision_id)}` }, d.routing_decision_id)],
        ["Chosen", h("span", { class: "mono", id: "request-chosen" }, d.chosen_endpoint_id || "none")],
        ["Fallbacks", d.fallback_endpoint_ids.join(" › ") || "none"],
        ["Strategy", d.policy_snapshot.strategy],
        ["Reasons", d.selection_reasons.map((x) => badge(x, "info"))],
        ["Evidence", d.used_measured ? badge("measured", "ok") : badge("declared only")],
      ]) : h("p", { class: "muted" }, "The decision was not stored."))),
    card("Feedback", h("div", { id: "request-feedback" }, table([
      { key: "giver", label: "From", render: (x) => h("span", { class: "mono" }, x.giver) },
      { key: "score", label: "Score", render: (x) => (x.score == null ? "–" : fmt.num(x.score, 2)) },
      { key: "label", label: "Label", render: (x) => x.label || "–" },
      { key: "comment", label: "Comment", render: (x) => x.comment || "–" },
      { key: "updated_ms", label: "When", render: (x) => fmt.time(x.updated_ms) },
    ], r.feedback || [], { empty: "No feedback: POST /v1/feedback with this request id gives some" }))),
    card("Trace waterfall", waterfall(r.spans)),
    card("Events", table([
      { key: "timestamp_ms", label: "Time", render: (e) => fmt.clock(e.timestamp_ms) },
      { key: "event_type", label: "Event" },
      { key: "payload", label: "Payload", render: (e) => h("span", { class: "mono" }, JSON.stringify(e.payload || {})) },
    ], r.events, { empty: "No events" })),
    card("Usage event", json(r.usage)));
  return null;
}
