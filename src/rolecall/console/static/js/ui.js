// Small DOM helpers shared by every page: element builder, formatters, tables, states, toasts.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const fmt = {
  int: (v) => (v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US")),
  ms: (v) => (v === null || v === undefined ? "–" : v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`),
  pct: (v, digits = 1) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)}%`),
  score: (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(3)),
  usd: (v) => {
    if (v === null || v === undefined) return "–";
    const abs = Math.abs(v);
    const digits = abs === 0 ? 2 : abs < 0.01 ? 5 : abs < 1 ? 4 : 2;
    return `${v < 0 ? "−" : ""}$${abs.toFixed(digits)}`;
  },
  num: (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits)),
  time: (ms) => (ms ? new Date(ms).toLocaleString("en-GB", { hour12: false }) : "–"),
  clock: (ms) => (ms ? new Date(ms).toLocaleTimeString("en-GB", { hour12: false }) : "–"),
  ago: (ms) => {
    if (!ms) return "never";
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return `${Math.round(s)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
    return `${(s / 86400).toFixed(1)} d ago`;
  },
  left: (ms) => (ms <= 0 ? "0 s" : ms < 60000 ? `${Math.ceil(ms / 1000)} s` : `${Math.ceil(ms / 60000)} min`),
};

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}

export function stat(label, value, sub) {
  return h("div", { class: "card stat" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export function card(title, body, tools) {
  return h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", {}, title), tools || null), body);
}

// A sticky-header table. columns: [{key, label, num?, wrap?, render?(row)}]; onRow(row) makes rows clickable.
export function table(columns, rows, { onRow, rowClass, empty = "No rows" } = {}) {
  if (!rows.length) return stateBox("empty", empty);
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "", scope: "col" }, c.label)));
  const body = rows.map((row) => tableRow(columns, row, { onRow, rowClass }));
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

// One body row of `table` (a live view inserts rows into a table already shown).
export function tableRow(columns, row, { onRow, rowClass } = {}) {
  const tr = h("tr", { class: [onRow ? "clickable" : "", rowClass ? rowClass(row) : ""].join(" ").trim() },
    columns.map((c) => h("td", { class: c.num ? "num" : c.wrap ? "wrap" : "" }, c.render ? c.render(row) : row[c.key] ?? "–")));
  if (onRow) {
    tr.tabIndex = 0;
    tr.addEventListener("click", () => onRow(row));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") onRow(row); });
  }
  return tr;
}

// Explicit chart/table states: loading, refreshing, empty, unsupported, partial, truncated, error.
export function stateBox(state, message) {
  const text = message || {
    loading: "Loading…", empty: "No data in this slice", error: "Failed to load",
    unsupported: "Not available for this data",
  }[state] || state;
  return h("div", { class: `state ${state === "error" ? "error" : ""}`, dataset: { state }, role: "status" }, text);
}

export function notice(text) {
  return h("div", { class: "notice", role: "note" }, text);
}

export function toast(message, bad = false) {
  let box = document.querySelector(".toasts");
  if (!box) { box = h("div", { class: "toasts" }); document.body.append(box); }
  const el = h("div", { class: `toast ${bad ? "bad" : ""}`, role: "alert" }, message);
  box.append(el);
  setTimeout(() => el.remove(), 4500);
}

// "1–50" of a page, "0" when there is nothing
export function range(offset, size, total) {
  return total ? `${offset + 1}–${Math.min(total, offset + size)}` : "0";
}

export function select(id, label, options, value, onChange) {
  const el = h("select", { id, onchange: (e) => onChange(e.target.value) },
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value }, text);
    }));
  return h("div", { class: "field" }, h("label", { for: id }, label), el);
}

export function segmented(label, options, value, onChange) {
  return h("div", { class: "seg", role: "group", "aria-label": label },
    options.map((o) => h("button", {
      type: "button", "aria-pressed": String(o === value), onclick: () => onChange(o),
    }, o)));
}

export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")]));
}

export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function statusBadge(family) {
  return badge(family, family === "2xx" ? "ok" : family === "4xx" ? "warn" : "bad");
}

// served / failed / refused / decision only, as the server counts them
const OUTCOME_KINDS = { served: "ok", failed: "bad", refused: "warn", decision_only: "info" };
export function outcomeBadge(outcome) {
  return badge(outcome === "decision_only" ? "decision only" : outcome || "–", OUTCOME_KINDS[outcome] || "");
}

export function meter(value, { low, high } = {}) {
  const track = h("div", { class: "bar-track", role: "meter", "aria-valuenow": value ?? 0, "aria-valuemin": 0, "aria-valuemax": 1 });
  track.append(h("div", { class: "bar-fill", style: { width: `${Math.max(0, Math.min(1, value || 0)) * 100}%` } }));
  if (low !== undefined && high !== undefined && low !== null && high !== null) {
    track.append(h("div", { class: "ci", style: { left: `${low * 100}%`, width: `${Math.max(0, high - low) * 100}%` } }));
  }
  return track;
}
