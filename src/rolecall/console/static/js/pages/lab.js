// Lab: learned-router evaluations and the pool-scaling plot, read from DATA_DIR/lab/.
import { api } from "../api.js";
import { card, clear, fmt, h, kv, notice, stateBox, table, toast } from "../ui.js";

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

function retrained(result) {
  const held = result.held_out || {};
  const rows = Object.entries(held).map(([name, mu]) => [name, num(mu)]);
  const verdict = result.deployed
    ? `kept: ${result.out} (routing.learned: artifact ${result.out}, models: each endpoint id to itself)`
    : `not kept: ${result.reason}`;
  return card(`Retrained from this deployment · ${fmt.time(result.created_ms)}`, h("div", { class: "grid retrain-result", dataset: { deployed: String(Boolean(result.deployed)) } },
    h("p", {}, verdict),
    kv([["Router", result.router], ["Records", num(result.records)], ["Held-out cases", num(result.n_test)], ...rows.map(([n, v]) => [`held-out quality · ${n}`, v])])));
}

function retrainForm(onDone) {
  const router = h("select", { id: "retrain-router", "aria-label": "Router" },
    ["knn", "rolecall", "linear", "mlp", "cluster"].map((r) => h("option", { value: r }, r)));
  const button = h("button", { type: "submit" }, "Retrain");
  const status = h("span", { class: "muted", role: "status" });
  const form = h("form", { id: "retrain", class: "row" }, router, button, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "training on the stored benchmark results…";
    try {
      const doc = await api("/api/lab/retrain", { method: "POST", body: { router: router.value } });
      toast(doc.deployed ? "Router trained and kept: it did no harm on held-out cases" : "Router trained but not kept: it would do harm");
      onDone();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return card("Retrain from your own benchmark results", h("div", { class: "grid" },
    h("p", { class: "muted" }, "Trains a per-prompt router on every graded benchmark case stored here, evaluates it on held-out cases against the best single endpoint, and keeps it only if it does no harm there."),
    form));
}

export async function render({ page }) {
  const res = await api("/api/lab/results");
  const evaluations = res.results.filter((r) => r.kind === "evaluate");
  const scales = res.results.filter((r) => r.kind === "scale");
  const retrains = res.results.filter((r) => r.kind === "retrain");
  clear(page,
    retrainForm(() => render({ page })),
    ...retrains.map(retrained),
    res.problems.length ? card("Unreadable results", h("ul", {}, res.problems.map((p) => h("li", {}, p)))) : null,
    evaluations.length ? evaluations.map(evaluation) : card("Learned-router evaluations", stateBox("empty", `No evaluation yet: run 'rolecall lab evaluate' (results go to ${res.directory})`)),
    scales.length ? scales.map(scale) : card("Pool scaling", stateBox("empty", "No scaling run yet: run 'rolecall lab scale'")));
  return null;
}
