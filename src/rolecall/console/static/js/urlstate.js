// Page state in the URL: "#/observe?window=1h&endpoint=a" survives a reload, a bookmark and Back.

// The current hash's query as a plain object of strings.
export function hashParams() {
  const hash = location.hash || "";
  const at = hash.indexOf("?");
  return Object.fromEntries(new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)));
}

// `state`'s keys that `defaults` knows, taken from the URL when there (numbers stay numbers).
export function restore(defaults) {
  const found = hashParams();
  const state = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    if (!(key in found)) continue;
    const raw = found[key];
    state[key] = typeof fallback === "number" ? Math.max(0, Number.parseInt(raw, 10) || 0) : raw;
  }
  return state;
}

// Write `state` into the hash (values equal to `defaults` left out) without re-rendering the page:
// replaceState fires no hashchange, so only Back and a reload read it again.
export function remember(state, defaults) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined || value === null || value === "" || value === defaults[key]) continue;
    q.set(key, String(value));
  }
  const path = (location.hash || "#/").split("?")[0];
  const text = q.toString();
  const next = text ? `${path}?${text}` : path;
  if (next !== location.hash) history.replaceState(history.state, "", next);
}
