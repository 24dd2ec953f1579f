// What became of one request (served, failed, refused, decision only), as the server summarised it
// (`rolecall.console.outcomes`): the rows the Request and Decision pages show.
import { badge, fmt, h, outcomeBadge, statusBadge } from "./ui.js";

// Where the request ran (or that it ran nowhere, and why), as the server summarised it.
export function outcomeRows(o, endpointId) {
  if (!o) return [["Outcome", "–"]];
  const ran = o.executed_on
    ? h("span", {}, h("b", { class: "mono", id: endpointId }, o.executed_on), o.fallback ? h("span", { id: `${endpointId}-fallback` }, " ", badge("fallback", "warn")) : "")
    : h("b", { id: endpointId }, o.outcome === "refused" ? "none: refused" : "none: decision only");
  const cost = o.cost_actual_usd !== null && o.cost_actual_usd !== undefined ? fmt.usd(o.cost_actual_usd) : "–";
  return [
    ["Outcome", h("span", { id: "outcome", dataset: { outcome: o.outcome } }, outcomeBadge(o.outcome), " ", statusBadge(o.status_family), o.error_class ? h("span", { class: "muted" }, ` ${o.error_class}`) : "")],
    o.reason ? ["Why", h("span", { id: "outcome-reason" }, o.reason)] : null,
    ["Executed on", ran],
    ["Latency", o.latency_ms === null ? "– (not executed)" : fmt.ms(o.latency_ms)],
    ["Tokens in · out", o.tokens_in === null ? "–" : `${fmt.int(o.tokens_in)} · ${fmt.int(o.tokens_out)}`],
    ["Cost estimate → actual", `${fmt.usd(o.cost_estimate_usd)} → ${cost}`],
  ].filter(Boolean);
}

