// Open drift alarms (GET /api/alarms), shown on the Dashboard when any is open. Quality and
// canary alarms demote their endpoint until a full re-benchmark or an operator clears them;
// failure-rate and throughput alarms only warn, and close once the endpoint recovers.
import { api } from "./api.js";
import { card, clear, fmt, h, toast } from "./ui.js";

function clearPath(a) {
  const endpoint = `/api/alarms/${encodeURIComponent(a.endpoint_id)}`;
  return a.demotes === false ? `${endpoint}/${encodeURIComponent(a.metric)}` : endpoint;
}

function alarmRow(a, onChange) {
  const demotes = a.demotes !== false;
  return h("li", { class: "alarm", dataset: { endpoint: a.endpoint_id, metric: a.metric } },
    h("strong", { class: "mono" }, a.endpoint_id), " ",
    h("span", { class: demotes ? "badge bad" : "badge warn" }, demotes ? `${a.metric} · demoted` : a.metric),
    " — ", a.summary,
    h("div", { class: "muted" }, `since ${fmt.time(a.opened_ms)} · ${a.action}`),
    h("button", {
      type: "button",
      onclick: async () => {
        await api(clearPath(a), { method: "DELETE" });
        toast(demotes ? `Alarm on ${a.endpoint_id} cleared: it is demoted no longer`
          : `${a.metric} alarm on ${a.endpoint_id} cleared`);
        onChange();
      },
    }, "Clear"));
}

export async function alarmsCard(onChange) {
  const { open } = await api("/api/alarms");
  const alarms = Object.values(open);
  if (!alarms.length) return null;
  const demoted = alarms.filter((a) => a.demotes !== false).length;
  const list = h("ul", { id: "alarms", class: "grid" }, alarms.map((a) => alarmRow(a, onChange)));
  const box = card(`Drift alarms (${alarms.length}): ${demoted} demoted endpoint(s)`, list);
  box.classList.add(demoted ? "bad" : "warn");
  return box;
}

export function alarmsSlot() {
  const slot = h("div", { id: "alarms-slot" });
  const refresh = async () => {
    try {
      const found = await alarmsCard(refresh);
      clear(slot, ...(found ? [found] : []));
    } catch {
      clear(slot);
    }
  };
  return { slot, refresh };
}
