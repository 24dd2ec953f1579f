// The live tail client: reads GET /api/console/requests/stream (Server-Sent Events) with fetch, since
// EventSource cannot send the admin token in a header. The server ends each stream after a few
// seconds with `event: end` and where to resume; this reconnects from there and drops ids it has
// delivered already, so a request is shown once.
import { auth } from "./api.js";

const RETRY_MS = 2000;
const REMEMBERED = 2000; // ids kept to drop repeats across reconnects
const GRACE_MS = 30000; // as the server's: how late a request may be stored

function parse(block) {
  const event = { event: "message", data: "" };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (field === "event") event.event = value;
    else if (field === "data") event.data += value;
  }
  return event;
}

async function* blocks(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
    }
  }
}

// Tail `path` (with the slice's filters in its query); onRequest(row) per new request,
// onState("live" | "reconnecting" | "error", message). Returns a function that stops it.
export function tail(path, { onRequest, onState = () => {} }) {
  let stopped = false;
  let controller = null;
  let since = null;
  let newest = 0;
  const seen = new Set();
  const url = () => (since === null ? path : `${path}${path.includes("?") ? "&" : "?"}since_ms=${since}`);
  const deliver = (row) => {
    if (seen.has(row.request_id)) return;
    seen.add(row.request_id);
    if (seen.size > REMEMBERED) seen.delete(seen.values().next().value);
    newest = Math.max(newest, row.timestamp_ms);
    onRequest(row);
  };
  const once = async () => {
    controller = new AbortController();
    const response = await fetch(url(), { headers: { authorization: `Bearer ${auth.token() || ""}` }, signal: controller.signal });
    if (!response.ok) throw new Error(`live tail: HTTP ${response.status}`);
    onState("live");
    for await (const block of blocks(response)) {
      const event = parse(block);
      if (event.event === "request") deliver(JSON.parse(event.data));
      else if (event.event === "end") since = JSON.parse(event.data).since_ms;
    }
  };
  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (err) {
        if (stopped) return;
        // cut before its end: resume a grace period before the newest request shown
        if (newest) since = Math.max(since ?? 0, newest - GRACE_MS);
        onState("error", err.message);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  })();
  return () => { stopped = true; controller?.abort(); };
}
