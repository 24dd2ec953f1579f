// Keys: create a gateway key (shown once) with its team and limits, list keys with their spend,
// revoke one; usage by key, team, user or tag over time. Uses the admin API: /api/keys, /api/usage.
import { api, query } from "../api.js";
import { lineChart } from "../charts.js";
import { badge, card, clear, fmt, h, notice, segmented, stateBox, table, toast } from "../ui.js";

const GROUPS = ["key", "team", "user", "tag"];
const SPANS = { "24h": "hour", "30d": "day" };
const LIMIT_FIELDS = [
  ["budget_usd", "Budget (USD)", "5"],
  ["budget_tokens", "Budget (tokens)", "1000000"],
  ["rpm", "Requests / min", "60"],
  ["tpm", "Tokens / min", "100000"],
];

function limitsText(limits) {
  const parts = [];
  if (limits.budget_usd !== undefined) parts.push(`${fmt.usd(limits.budget_usd)} / ${limits.per}`);
  if (limits.budget_tokens !== undefined) parts.push(`${fmt.int(limits.budget_tokens)} tokens / ${limits.per}`);
  if (limits.rpm !== undefined) parts.push(`${fmt.int(limits.rpm)} rpm`);
  if (limits.tpm !== undefined) parts.push(`${fmt.int(limits.tpm)} tpm`);
  return parts.length ? parts.join(" · ") : h("span", { class: "muted" }, "no limits of its own");
}

function input(id, label, placeholder, type = "text") {
  const el = h("input", { id, name: id, placeholder, type, size: 12, autocomplete: "off", spellcheck: "false" });
  return [h("div", { class: "field" }, h("label", { for: id }, label), el), el];
}

// The create form; the new key is shown once, in `shown`, then never again.
function createForm(onCreated) {
  const shown = h("div", { id: "new-key" });
  const [nameField, name] = input("key-name", "Name", "ci-pipeline");
  const [teamField, team] = input("key-team", "Team", "eng");
  const limits = LIMIT_FIELDS.map(([id, label, hint]) => [id, ...input(`key-${id}`, label, hint, "number")]);
  const per = h("select", { id: "key-per" }, ["month", "day"].map((p) => h("option", { value: p }, p)));
  const create = async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim() || "default" };
    if (team.value.trim()) body.team = team.value.trim();
    for (const [id, , el] of limits) if (el.value !== "") body[id] = Number(el.value);
    if (body.budget_usd !== undefined || body.budget_tokens !== undefined) body.per = per.value;
    try {
      const made = await api("/api/keys", { method: "POST", body });
      const secret = h("input", { id: "new-key-value", class: "mono", value: made.key, readonly: true, size: 56 });
      clear(shown, h("div", { class: "notice", role: "status" },
        h("b", {}, `Key ${made.key_id} created. `), "Copy it now: it is shown this once and never stored.",
        h("div", { class: "row" }, secret, h("button", { type: "button", onclick: () => { secret.select(); navigator.clipboard?.writeText(made.key); toast("Copied"); } }, "Copy"))));
      for (const el of [name, team, ...limits.map((l) => l[2])]) el.value = "";
      onCreated();
    } catch (err) { toast(err.message, true); }
  };
  return h("form", { id: "create-key", onsubmit: create, autocomplete: "off" },
    h("div", { class: "row" }, nameField, teamField, limits.map((l) => l[1]),
      h("div", { class: "field" }, h("label", { for: "key-per" }, "Budget per"), per),
      h("div", { class: "field submit" }, h("button", { type: "submit", class: "primary" }, "Create key"))),
    h("p", { class: "muted" }, "Empty limits mean none of the key's own; its team's and the global limits in rolecall.yaml still apply."),
    shown);
}

function revokeButton(key, reload) {
  const button = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.key_id}` }, "Revoke");
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) { armed = true; button.textContent = "Confirm revoke"; return; }
    try {
      await api(`/api/keys/${encodeURIComponent(key.key_id)}`, { method: "DELETE" });
      toast(`Key ${key.key_id} revoked: every gateway process refuses it within a second`);
      reload();
    } catch (err) { toast(err.message, true); }
  });
  return button;
}

function keysTable(keys, spend, reload) {
  // active keys first, newest first
  const rows = [...keys].sort((a, b) => Number(a.revoked_ms !== null) - Number(b.revoked_ms !== null) || b.created_ms - a.created_ms);
  return table([
    { key: "key_id", label: "Key", render: (k) => h("div", {}, h("span", { class: "mono" }, k.key_id), h("div", { class: "muted" }, k.name)) },
    { key: "prefix", label: "Prefix", render: (k) => h("span", { class: "mono" }, `${k.prefix}…`) },
    { key: "team", label: "Team", render: (k) => k.team || h("span", { class: "muted" }, "–") },
    { key: "limits", label: "Limits", wrap: true, render: (k) => limitsText(k.limits) },
    { key: "requests", label: "Requests (30 d)", num: true, render: (k) => fmt.int(spend.get(k.key_id)?.requests || 0) },
    { key: "spend", label: "Spend (30 d)", num: true, render: (k) => fmt.usd(spend.get(k.key_id)?.cost_usd || 0) },
    { key: "created_ms", label: "Created", render: (k) => fmt.time(k.created_ms) },
    { key: "state", label: "State", render: (k) => (k.revoked_ms ? badge("revoked", "") : badge("active", "ok")) },
    { key: "act", label: "", render: (k) => (k.revoked_ms ? "" : revokeButton(k, reload)) },
  ], rows, { rowClass: (k) => `key-row${k.revoked_ms ? " excluded" : ""}`, empty: "No keys yet: create one above, or with 'rolecall keys create'" });
}

function groupName(group, by) {
  if (by !== "key") return group.value;
  return group.key ? `${group.key.name} (${group.value})` : group.value;
}

function usageView(data, by) {
  if (!data.groups.length) return stateBox("empty", `No usage by ${by} in this window`);
  const width = data.bucket_ms;
  const xs = [];
  for (let t = data.since_ms - (data.since_ms % width); t < data.until_ms; t += width) xs.push(t);
  const series = data.groups.slice(0, 8).map((g) => {
    const at = new Map(g.series.map((p) => [p.start_ms, p.cost_usd]));
    return { name: groupName(g, by), values: xs.map((t) => at.get(t) ?? 0) };
  });
  const xf = (t) => (width >= 86400000 ? new Date(t).toLocaleDateString("en-GB", { day: "2-digit", month: "short" }) : fmt.clock(t).slice(0, 5));
  return h("div", {},
    data.truncated ? notice(`Truncated: the ${data.groups.length} groups that spent most`) : null,
    h("div", { class: "grid g2" },
      h("div", {}, h("h3", {}, "Spend over time"), lineChart(xs, series, { xFormat: xf, yFormat: fmt.usd, label: `spend per ${by} over time` })),
      table([
        { key: "value", label: by[0].toUpperCase() + by.slice(1), render: (g) => h("span", { class: "mono" }, groupName(g, by)) },
        { key: "requests", label: "Requests", num: true, render: (g) => fmt.int(g.requests) },
        { key: "ok", label: "OK", num: true, render: (g) => fmt.pct(g.requests ? g.ok / g.requests : null, 0) },
        { key: "tokens", label: "Tokens", num: true, render: (g) => fmt.int(g.tokens_in + g.tokens_out) },
        { key: "cost_usd", label: "Spend", num: true, render: (g) => fmt.usd(g.cost_usd) },
      ], data.groups, { rowClass: () => "usage-row" })));
}

export async function render({ page }) {
  const state = { by: "key", span: "30d" };
  const list = h("div", {}, stateBox("loading"));
  const usage = h("div", {}, stateBox("loading"));
  const tools = h("div", { class: "row" });
  const loadKeys = async () => {
    const [keys, spent] = await Promise.all([api("/api/keys"), api(`/api/usage${query({ group_by: "key", bucket: "day", limit: 500 })}`)]);
    const spend = new Map(spent.groups.map((g) => [g.value, g]));
    const active = keys.data.filter((k) => !k.revoked_ms).length;
    const refresh = h("button", { type: "button", class: "ghost", id: "keys-refresh", onclick: reload }, "Refresh");
    clear(list, card(`Keys (${active} active, ${keys.data.length - active} revoked)`, keysTable(keys.data, spend, reload), refresh));
  };
  const loadUsage = async () => {
    clear(tools, segmented("Group usage by", GROUPS, state.by, (v) => { state.by = v; loadUsage(); }),
      segmented("Window", Object.keys(SPANS), state.span, (v) => { state.span = v; loadUsage(); }));
    try {
      const data = await api(`/api/usage${query({ group_by: state.by, bucket: SPANS[state.span] })}`);
      clear(usage, usageView(data, state.by));
    } catch (err) { clear(usage, stateBox("error", err.message)); }
  };
  const reload = () => Promise.all([loadKeys(), loadUsage()]).catch((err) => toast(err.message, true));
  clear(page,
    card("Create a key", createForm(reload)),
    list,
    card("Usage", usage, tools));
  await Promise.all([loadKeys(), loadUsage()]);
  const timer = setInterval(() => loadKeys().catch(() => {}), 15000);
  return () => clearInterval(timer);
}
