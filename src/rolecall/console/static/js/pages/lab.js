// Lab: learned-router evaluations and the pool-scaling plot, read from DATA_DIR/lab/.
import { api } from "../api.js";
import { card, clear, fmt, h, notice, stateBox, table } from "../ui.js";

const num = (v) => {
  if (typeof v === "number") return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(3);
  if (Array.isArray(v)) return v.join(", ");
  if (v && typeof v === "object") return JSON.stringify(v);
  return v ?? "–";
};

function evaluation(result) {
  return card(`Evaluation · ${fmt.time(result.created_ms)}`, h("div", { class: "grid" },
    h("p", { class: "muted" }, `train: ${result.train ?? "–"} · test: ${result.test ?? "–"} · ${result.file}`),
    table([
      { key: "router", label: "Router" },
      { key: "mu_o", label: "μ_O", num: true, render: (r) => num(r.mu_o) },
      { key: "v_b", label: "V_B", num: true, render: (r) => num(r.v_b) },
      { key: "oracle", label: "Oracle", num: true, render: (r) => num(r.oracle) },
      { key: "best_single", label: "Best single", num: true, render: (r) => num(r.best_single) },
      { key: "e_p", label: "E_P", num: true, render: (r) => num(r.e_p) },
      { key: "gap_closed", label: "Gap closed", num: true, render: (r) => (typeof r.gap_closed === "number" ? fmt.pct(r.gap_closed) : "–") },
    ], result.results || [], { empty: "This evaluation has no rows" })));
}

function scale(result) {
  const rows = result.rows || [];
  const columns = rows.length ? Object.keys(rows[0]).map((k) => ({ key: k, label: k, num: typeof rows[0][k] === "number", wrap: Array.isArray(rows[0][k]), render: (r) => num(r[k]) })) : [];
  const img = result.plot_url ? h("img", { alt: "Pool-scaling plot", class: "plot" }) : null;
  if (img) {
    // the plot is behind the admin token, so fetch it and show it as an object URL
    fetch(result.plot_url, { headers: { authorization: `Bearer ${sessionStorage.getItem("rolecall.adminToken")}` } })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((b) => { img.src = URL.createObjectURL(b); })
      .catch(() => img.replaceWith(stateBox("error", "Could not load the plot")));
  }
  return card(`Pool scaling · ${fmt.time(result.created_ms)}`, h("div", { class: "grid" }, img || notice("No plot file for this result"), table(columns, rows, { empty: "No rows" })));
}

export async function render({ page }) {
  const res = await api("/api/lab/results");
  const evaluations = res.results.filter((r) => r.kind === "evaluate");
  const scales = res.results.filter((r) => r.kind === "scale");
  clear(page,
    res.problems.length ? card("Unreadable results", h("ul", {}, res.problems.map((p) => h("li", {}, p)))) : null,
    evaluations.length ? evaluations.map(evaluation) : card("Learned-router evaluations", stateBox("empty", `No evaluation yet: run 'rolecall lab evaluate' (results go to ${res.directory})`)),
    scales.length ? scales.map(scale) : card("Pool scaling", stateBox("empty", "No scaling run yet: run 'rolecall lab scale'")));
  return null;
}
