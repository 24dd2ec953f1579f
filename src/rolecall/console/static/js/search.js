// Request-id search: find a request (or, failing that, a decision) by the id a response's
// x-rolecall-request-id / x-rolecall-decision-id header gave, and open its page.
import { api } from "./api.js";
import { h } from "./ui.js";

export function searchForm(value = "") {
  const input = h("input", { id: "request-search-id", type: "search", value, placeholder: "request or decision id", "aria-label": "Request or decision id", spellcheck: "false", autocomplete: "off" });
  const message = h("span", { class: "error", id: "request-search-error", role: "alert" });
  const submit = async (event) => {
    event.preventDefault();
    const id = input.value.trim();
    message.textContent = "";
    if (!id) return;
    for (const [path, page] of [["requests", "observe/requests"], ["decisions", "router/decisions"]]) {
      try {
        await api(`/api/console/${path}/${encodeURIComponent(id)}`);
        location.hash = `#/${page}/${encodeURIComponent(id)}`;
        return;
      } catch (err) {
        if (err.status !== 404) { message.textContent = err.message; return; }
      }
    }
    message.textContent = `No request or decision with id ${id}`;
  };
  return h("form", { class: "search", id: "request-search", onsubmit: submit }, input, h("button", { type: "submit" }, "Find"), message);
}

