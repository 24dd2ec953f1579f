// Open quality-drift alarms (GET /api/alarms): each demotes its endpoint until a full
// re-benchmark or an operator clears it. Shown on the Dashboard when any is open.
import { api } from "./api.js";
import { card, clear, fmt, h, toast } from "./ui.js";

export async function alarmsCard(onChange) {
  const { open } = await api("/api/alarms");
  const alarms = Object.values(open);
  if (!alarms.length) return null;
  const rows = alarms.map((a) => h("li", { class: "alarm", dataset: { endpoint: a.endpoint_id } },
    h("strong", { class: "mono" }, a.endpoint_id), " — ", a.summary,
    h("div", { class: "muted" }, `since ${fmt.time(a.opened_ms)} · ${a.action}`),
    h("button", {
      type: "button",
      onclick: async () => {
        await api(`/api/alarms/${encodeURIComponent(a.endpoint_id)}`, { method: "DELETE" });
        toast(`Alarm on ${a.endpoint_id} cleared: it is demoted no longer`);
        onChange();
      },
    }, "Clear")));
  const list = h("ul", { id: "alarms", class: "grid" }, rows);
  const box = card(`Drift alarms (${alarms.length}): demoted endpoints`, list);
  box.classList.add("bad");
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
