// Dashboard: requests, success, latency, cost and the routing split over time.
import { api, query } from "../api.js";
import { alarmsSlot } from "../alarms.js";
import { WINDOWS, charts, stats } from "../analytics.js";
import { clear, fmt, h, segmented, stateBox } from "../ui.js";
import { remember, restore } from "../urlstate.js";

const DEFAULTS = { window: "24h" };

export async function render({ page, tools }) {
  // the window lives in the URL (#/dashboard?window=1h): a reload keeps it
  const state = restore(DEFAULTS);
  let windowName = WINDOWS.includes(state.window) ? state.window : DEFAULTS.window;
  const body = h("div", { class: "page-body" });
  const alarms = alarmsSlot();
  const status = h("span", { class: "muted", role: "status", dataset: { state: "loading" } });
  const load = async (refreshing = false) => {
    // a refresh keeps the charts on screen and says so; a first load replaces them
    if (!refreshing) clear(body, stateBox("loading"));
    status.dataset.state = refreshing ? "refreshing" : "loading";
    status.textContent = refreshing ? "refreshing…" : "";
    try {
      const data = await api(`/api/console/analytics${query({ window: windowName })}`);
      await alarms.refresh();
      clear(body, h("div", { class: "grid" }, stats(data), charts(data)));
      status.dataset.state = "populated";
      status.textContent = `updated ${fmt.clock(Date.now())}`;
    } catch (err) {
      clear(body, stateBox("error", `Analytics failed: ${err.message}`));
      status.textContent = "";
    }
  };
  const drawTools = () => clear(tools, status, segmented("Time window", WINDOWS, windowName, (w) => {
    windowName = w;
    remember({ window: w }, DEFAULTS);
    drawTools();
    load();
  }));
  drawTools();
  clear(page, alarms.slot, body);
  await load();
  const timer = setInterval(() => load(true), 15000);
  return () => clearInterval(timer);
}
