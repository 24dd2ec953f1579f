// Dashboard: requests, success, latency, cost and the routing split over time.
import { api, query } from "../api.js";
import { WINDOWS, charts, stats } from "../analytics.js";
import { clear, h, segmented, stateBox } from "../ui.js";

let windowName = "24h";

export async function render({ page, tools }) {
  const body = h("div", { class: "page-body" });
  const load = async (refreshing = false) => {
    if (!refreshing) clear(body, stateBox("loading"));
    try {
      const data = await api(`/api/console/analytics${query({ window: windowName })}`);
      clear(body, h("div", { class: "grid" }, stats(data), charts(data)));
    } catch (err) {
      clear(body, stateBox("error", `Analytics failed: ${err.message}`));
    }
  };
  const drawTools = () => clear(tools, segmented("Time window", WINDOWS, windowName, (w) => { windowName = w; drawTools(); load(); }));
  drawTools();
  clear(page, body);
  await load();
  const timer = setInterval(() => load(true), 15000);
  return () => clearInterval(timer);
}
