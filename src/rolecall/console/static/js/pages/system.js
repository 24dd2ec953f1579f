// System: readiness checks, storage backend, version, writer health, configuration problems.
import { api } from "../api.js";
import { badge, card, clear, fmt, h, kv, stateBox, table } from "../ui.js";

export async function render({ page }) {
  const s = await api("/api/console/system");
  const ready = s.readiness.every((c) => c.ok);
  clear(page,
    h("div", { class: "grid g2" },
      card("Runtime", kv([
        ["Version", h("span", { id: "system-version" }, s.version)],
        ["Up since", `${fmt.time(s.started_ms)} (${fmt.ago(s.started_ms)})`],
        ["Storage backend", h("b", { id: "system-backend" }, s.storage.backend)],
        ["Database", h("span", { class: "mono" }, s.storage.url)],
        ["Schema revision", `${s.storage.revision} (head ${s.storage.head})`],
        ["Inventory file", h("span", { class: "mono" }, s.config_file)],
        ["Data directory", h("span", { class: "mono" }, s.data_dir)],
        ["Gateway API keys", s.require_api_key ? `required · ${s.api_keys.filter((k) => !k.revoked).length} active` : "not required"],
        ["Telemetry writer", `${fmt.int(s.writer.written)} written · ${fmt.int(s.writer.failed)} failed · ${fmt.int(s.writer.dropped)} dropped`],
        ["Last write error", s.writer.last_error || "none"],
      ])),
      card("Readiness", h("div", {}, h("p", {}, ready ? badge("ready", "ok") : badge("not ready", "warn")),
        table([
          { key: "check", label: "Check" },
          { key: "ok", label: "", render: (c) => badge(c.ok ? "ok" : "no", c.ok ? "ok" : "warn") },
          { key: "detail", label: "Detail", wrap: true, render: (c) => h("span", { class: "muted" }, c.detail) },
        ], s.readiness)))),
    card("Configuration problems", s.problems.length ? h("ul", {}, s.problems.map((p) => h("li", { class: "error" }, p))) : stateBox("empty", "No configuration problems")),
    card("API keys", table([
      { key: "key_id", label: "Key", render: (k) => h("span", { class: "mono" }, k.key_id) },
      { key: "name", label: "Name" },
      { key: "prefix", label: "Prefix", render: (k) => h("span", { class: "mono" }, `${k.prefix}…`) },
      { key: "revoked", label: "State", render: (k) => badge(k.revoked ? "revoked" : "active", k.revoked ? "" : "ok") },
    ], s.api_keys, { empty: "No API keys: create one with 'rolecall keys create'" })));
  return null;
}
