// Models → Benchmark: start quick/full runs, live progress (elapsed, ETA, cancel), each endpoint's
// card from its latest evidence across runs, pool-wide advice, the judge used, history (click a run
// for its per-suite and per-case detail), compare, clear.
import { api, query } from "../api.js";
import { badge, card, clear, fmt, h, kv, meter, notice, segmented, stateBox, table, toast } from "../ui.js";
import { judgeView, runDetail } from "./bench_run.js";

// adaptive: "" (auto: adaptive for quick runs, every case for full ones), "true" or "false"
const state = { mode: "quick", selected: null, judge: "", adaptive: "" };
const ADAPTIVE = { "": null, true: true, false: false };

function runSetup(suites, endpoints, onStart) {
  if (state.selected === null) state.selected = new Set(endpoints.map((e) => e.endpoint_id));
  const counts = { quick: suites.quick_cases, full: suites.full_cases };
  const boxes = endpoints.map((e) => {
    const id = `bench-ep-${e.endpoint_id}`;
    const box = h("input", { type: "checkbox", id, checked: state.selected.has(e.endpoint_id),
      onchange: (ev) => { ev.target.checked ? state.selected.add(e.endpoint_id) : state.selected.delete(e.endpoint_id); drawOverlap(); } });
    return h("span", { class: "row" }, box, h("label", { for: id }, e.endpoint_id, e.local ? " (local)" : ""));
  });
  // said before the run starts: a judge that is also a candidate grades its own answers
  const overlap = h("span", { class: "muted", id: "bench-judge-overlap" });
  const drawOverlap = () => { overlap.textContent = state.judge && state.selected.has(state.judge) ? `${state.judge} is also benchmarked: it will judge its own answers (marked self-judging)` : ""; };
  const judge = h("select", { id: "bench-judge", onchange: (ev) => { state.judge = ev.target.value; drawOverlap(); } },
    h("option", { value: "" }, "no judge (graders only)"),
    endpoints.map((e) => h("option", { value: e.endpoint_id, selected: state.judge === e.endpoint_id }, e.endpoint_id)));
  const modeBox = h("span", {});
  // an adaptive run draws from the whole suite, up to the quick count (quick) or all of it (full)
  const casesHint = () => {
    const adaptive = ADAPTIVE[state.adaptive] ?? state.mode === "quick";
    return adaptive ? ` up to ${fmt.int(counts[state.mode])} of ${fmt.int(counts.full)} cases per endpoint, as many as its ranking needs` : ` ${fmt.int(counts[state.mode])} cases per endpoint`;
  };
  const drawMode = () => clear(modeBox, segmented("Benchmark mode", ["quick", "full"], state.mode, (m) => { state.mode = m; drawMode(); }),
    h("span", { class: "muted", id: "bench-cases-hint" }, casesHint()));
  const adaptive = h("select", { id: "bench-adaptive-mode", title: "auto: adaptive for quick runs, every case for full ones",
    onchange: (ev) => { state.adaptive = ev.target.value; drawMode(); } },
    [["", "auto"], ["true", "adaptive"], ["false", "every case"]].map(([v, t]) => h("option", { value: v, selected: state.adaptive === v }, t)));
  drawMode();
  drawOverlap();
  return h("div", { class: "grid" },
    h("div", { class: "row" }, h("b", {}, "Endpoints"), boxes),
    h("div", { class: "row" }, h("label", { for: "bench-judge" }, "Judge"), judge, h("label", { for: "bench-adaptive-mode" }, "Cases"), adaptive, h("b", {}, "Mode"), modeBox,
      h("button", { type: "button", class: "primary", id: "bench-start", onclick: onStart }, "Start benchmark")),
    overlap,
    h("p", { class: "muted" }, `Suites: ${suites.suites.map((s) => `${s.name} (${s.cases} cases, ${s.quick_cases} quick)`).join(", ") || "none"}`));
}

const seconds = (s) => (s === null || s === undefined ? "–" : fmt.ms(s * 1000));

function progressView(p, onCancel) {
  const pct = p.total ? p.done / p.total : 0;
  const bar = h("div", { class: "progress", role: "progressbar", "aria-valuenow": Math.round(pct * 100), "aria-valuemin": 0, "aria-valuemax": 100 },
    h("div", { style: { width: `${pct * 100}%` } }));
  const running = p.status === "running";
  return h("div", { class: "grid" },
    h("div", { class: "row spread" },
      h("span", {}, badge(p.status, p.status === "completed" ? "ok" : running ? "info" : "bad"), " phase ", h("b", {}, p.phase || "–")),
      p.stalled ? badge("stalled: no progress for 90 s", "bad") : null,
      h("span", { id: "bench-progress-count" }, `${fmt.int(p.done)} / ${fmt.int(p.total)} cases · ${fmt.int(p.failed)} failed`)),
    bar,
    h("div", { class: "row spread" },
      h("span", { class: "muted" }, p.current_endpoint ? `now: ${p.current_endpoint} · ${p.current_case || ""}` : ""),
      h("span", { id: "bench-eta" }, `elapsed ${seconds(p.elapsed_s)} · ETA ${p.eta_s === null ? "estimating…" : seconds(p.eta_s)}`),
      running ? h("button", { type: "button", class: "danger", id: "bench-cancel", onclick: () => onCancel(p.run_id) }, "Cancel run") : null));
}

function bucketRow(name, q) {
  if (!q) return h("div", { class: "row muted" }, `${name}: no cases`);
  return h("div", { class: "row" }, h("span", { style: { width: "54px" } }, name), meter(q.mean, { low: q.ci_low, high: q.ci_high }),
    h("span", { class: "mono" }, `${fmt.score(q.mean)} [${fmt.score(q.ci_low)}, ${fmt.score(q.ci_high)}] n=${q.samples}`));
}

function endpointCard(e, onClear, onOpen) {
  const o = e.quality.overall;
  const head = h("div", { class: "card-head" }, h("h2", { class: "mono" }, e.endpoint_id), badge(e.local ? "local" : "remote", e.local ? "info" : ""));
  if (!e.cases) {
    return h("section", { class: "card bench-endpoint", dataset: { endpoint: e.endpoint_id } }, head,
      stateBox("empty", "No benchmark evidence yet: include it in a run"));
  }
  return h("section", { class: "card bench-endpoint", dataset: { endpoint: e.endpoint_id } }, head,
    h("div", { class: "stat" }, h("div", { class: "label" }, "Overall quality"),
      h("div", { class: "value bench-score" }, fmt.score(o?.mean)),
      // the interval rests on distinct cases: each case counts once, from its newest result
      h("div", { class: "sub" }, o ? `95% CI [${fmt.score(o.ci_low)}, ${fmt.score(o.ci_high)}] · ${fmt.int(e.distinct_cases)} distinct cases` : "no graded cases")),
    ["easy", "medium", "hard"].map((b) => bucketRow(b, e.quality.buckets?.[b])),
    kv([
      ["Failures / skipped", `${fmt.int(e.failures)} / ${fmt.int(e.skipped)}`],
      ["Latency p50 / p95", `${fmt.ms(e.latency_ms_p50)} / ${fmt.ms(e.latency_ms_p95)}`],
      ["Tokens/s", fmt.num(e.tokens_per_sec)],
      ["Cost per case", fmt.usd(e.cost_per_case_usd)],
      ["Latest evidence", h("a", { href: "#", class: "bench-evidence-run", onclick: (ev) => { ev.preventDefault(); onOpen(e.latest_run_id); } },
        `${fmt.ago(e.latest_ms)} (${e.latest_run_id})`)],
      ["From runs", fmt.int(e.evidence_runs.length)],
    ]),
    h("div", { class: "row" }, h("button", { type: "button", class: "danger", onclick: () => onClear(e.endpoint_id) }, "Clear data")));
}

function results(summary, onClear, onOpen) {
  if (!summary.endpoints.some((e) => e.cases)) return stateBox("empty", "No benchmark evidence yet: start a run above");
  const rec = summary.recommendation;
  return h("div", { class: "grid" },
    card("Recommended strategy (whole pool)", h("div", {},
      h("p", {}, "Choose ", h("b", { id: "bench-recommendation" }, rec.strategy), " — ", h("a", { href: "#/router" }, "preview it on the Router page")),
      h("ul", { id: "bench-reasons" }, rec.reasons.map((r) => h("li", {}, r))),
      rec.leave_pool?.length ? notice(`Consider removing from the pool: ${rec.leave_pool.join(", ")}`) : null)),
    h("div", { class: "grid g3" }, summary.endpoints.map((e) => endpointCard(e, onClear, onOpen))));
}

function compareView(runs) {
  const out = h("div", {});
  const ids = runs.filter((r) => r.status === "completed").map((r) => [r.run_id, `${r.run_id} (${r.mode}, ${fmt.time(r.started_ms)})`]);
  if (ids.length < 2) return stateBox("empty", "Compare needs two completed runs");
  // a run's label is wider than a phone: the select shrinks to the screen and cuts the label
  const fit = { maxWidth: "100%" };
  const a = h("select", { id: "cmp-a", style: fit }, ids.map(([v, t], i) => h("option", { value: v, selected: i === 1 }, t)));
  const b = h("select", { id: "cmp-b", style: fit }, ids.map(([v, t], i) => h("option", { value: v, selected: i === 0 }, t)));
  const go = async () => {
    try {
      const res = await api(`/api/bench/compare${query({ a: a.value, b: b.value })}`);
      clear(out, table([
        { key: "endpoint_id", label: "Endpoint" },
        { key: "a_mean", label: "A", num: true, render: (r) => fmt.score(r.a_mean) },
        { key: "b_mean", label: "B", num: true, render: (r) => fmt.score(r.b_mean) },
        { key: "delta", label: "Δ", num: true, render: (r) => fmt.score(r.delta) },
        { key: "shared_cases", label: "Shared cases", num: true },
        { key: "p_value", label: "p", num: true, render: (r) => (r.p_value === null ? "–" : r.p_value.toFixed(3)) },
      ], res.endpoints));
    } catch (err) { clear(out, stateBox("error", err.message)); }
  };
  return h("div", {}, h("div", { class: "row" }, h("label", { for: "cmp-a" }, "A"), a, h("label", { for: "cmp-b" }, "B"), b, h("button", { type: "button", onclick: go }, "Compare")), out);
}

function history(runs, onOpen) {
  return table([
    { key: "run_id", label: "Run", render: (r) => h("span", { class: "mono" }, r.run_id) },
    { key: "mode", label: "Mode" },
    { key: "status", label: "Status", render: (r) => badge(r.status, r.status === "completed" ? "ok" : r.status === "running" ? "info" : "bad") },
    { key: "started_ms", label: "Started", render: (r) => fmt.time(r.started_ms) },
    { key: "finished_ms", label: "Finished", render: (r) => fmt.time(r.finished_ms) },
    { key: "endpoints", label: "Endpoints", render: (r) => (r.endpoints || []).join(", ") },
    { key: "cases", label: "Cases", num: true, render: (r) => `${fmt.int(r.cases_done)} / ${fmt.int(r.cases_total)}` },
  ], runs, { empty: "No runs yet", onRow: (r) => onOpen(r.run_id) });
}

export async function render({ page }) {
  let suites, models;
  try {
    [suites, models] = await Promise.all([api("/api/bench/suites"), api("/api/console/models")]);
  } catch (err) {
    clear(page, card("Benchmark", stateBox(err.status === 404 ? "unsupported" : "error",
      err.status === 404 ? "The benchmark service is not available in this runtime." : `Benchmark API failed: ${err.message}`)));
    return null;
  }
  const progress = h("div", { id: "bench-progress" });
  const resultsBox = h("div", { id: "bench-results" });
  const judgeBox = h("div", { id: "bench-judge-box" });
  const detailBox = h("div", { id: "bench-detail" });
  const historyBox = h("div", { id: "bench-history" });
  const compareBox = h("div", {});
  let timer = null;
  const openRun = async (runId) => {
    try {
      clear(detailBox, runDetail(await api(`/api/bench/runs/${encodeURIComponent(runId)}`), () => clear(detailBox)));
      detailBox.scrollIntoView({ block: "start" });
    } catch (err) { clear(detailBox, stateBox("error", err.message)); }
  };
  const cancelRun = async (runId) => {
    try {
      await api(`/api/bench/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST" });
      toast(`Cancelling ${runId}: the cases already graded are kept`);
    } catch (err) { toast(err.message, true); }
  };
  // the cards and the judge are re-read only when some run's status or stored cases changed (a
  // clear, here or elsewhere, changes the counts too): the summary reads every recent run
  let seen = null;
  const refresh = async () => {
    const { runs } = await api("/api/bench/runs");
    const signature = JSON.stringify(runs.map((r) => [r.run_id, r.status, r.cases_done]));
    const changed = signature !== seen;
    seen = signature;
    const active = runs.find((r) => r.status === "running");
    if (active) {
      const p = await api(`/api/bench/runs/${encodeURIComponent(active.run_id)}/progress`);
      clear(progress, progressView(p, cancelRun));
    } else {
      clear(progress, h("span", { class: "muted" }, "No run in progress."));
    }
    if (changed) {
      clear(resultsBox, results(await api("/api/bench/summary"), clearData, openRun));
      const latest = runs.find((r) => r.status !== "running");
      clear(judgeBox, latest ? judgeView(await api(`/api/bench/runs/${encodeURIComponent(latest.run_id)}`)) : stateBox("empty", "No run yet"));
    }
    clear(historyBox, history(runs, openRun));
    if (!compareBox.childNodes.length || !active) clear(compareBox, compareView(runs));
    return active;
  };
  const poll = async () => {
    try {
      const active = await refresh();
      timer = setTimeout(poll, active ? 1000 : 5000);
    } catch (err) {
      clear(progress, stateBox("error", err.message));
      timer = setTimeout(poll, 5000);
    }
  };
  const start = async () => {
    try {
      // judge null is "no judge (graders only)"; the API only picks a default when it is absent
      // adaptive null is "auto": the API makes quick runs adaptive and full runs fixed
      const body = { mode: state.mode, endpoints: [...state.selected], judge: state.judge || null, adaptive: ADAPTIVE[state.adaptive] };
      const res = await api("/api/bench/runs", { method: "POST", body });
      toast(`Benchmark ${res.run_id} started`);
      clearTimeout(timer);
      poll();
    } catch (err) {
      toast(err.status === 409 ? "A benchmark is already running: wait for it to finish or cancel it" : err.message, true);
    }
  };
  async function clearData(endpointId) {
    if (!confirm(endpointId ? `Delete benchmark data of ${endpointId}?` : "Delete all benchmark data?")) return;
    const res = await api(`/api/bench/data${query({ endpoint: endpointId })}`, { method: "DELETE" });
    toast(`Deleted ${res.deleted_samples} samples`);
    refresh();
  }
  clear(page,
    card("Run a benchmark", runSetup(suites, models.data, start)),
    card("Progress", progress),
    card("Scores (each endpoint's latest evidence)", resultsBox),
    card("Judge of the latest run", judgeBox),
    card("Run history (click a run for its detail)", historyBox, h("button", { type: "button", class: "danger", onclick: () => clearData(null) }, "Clear all data")),
    detailBox,
    card("Compare two runs", compareBox));
  await poll();
  return () => clearTimeout(timer);
}
