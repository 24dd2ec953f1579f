// SVG charts drawn by hand: line, stacked bars over time, grouped bars. No library, no canvas.
// Each is drawn at its container's real width (and redrawn when that changes), so text is never
// stretched and the axis labels are measured, not guessed: nothing is cut off at 390 px or 1440 px.
// One chart, one unit: the y axis carries the unit in every tick label.

const NS = "http://www.w3.org/2000/svg";
const FONT = "10px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function seriesColor(i) {
  const palette = getComputedStyle(document.documentElement).getPropertyValue("--series").split(",");
  return (palette[i % palette.length] || "#5aa9ff").trim();
}

// "--bad" → the theme's colour (SVG presentation attributes take no var())
export function cssColor(name) {
  return name.startsWith("--") ? getComputedStyle(document.documentElement).getPropertyValue(name).trim() : name;
}

let measurer = null;
function textWidth(text) {
  if (!measurer) {
    measurer = document.createElement("canvas").getContext("2d");
    measurer.font = FONT;
  }
  return measurer ? measurer.measureText(String(text)).width : String(text).length * 6;
}

// Four equal steps from 0 up to at least `v`, each step 1, 2, 2.5 or 5 × 10^k (whole counts: at
// least 1), and how many decimals a tick needs to be shown exactly.
export function niceScale(v, integer = false) {
  const target = Math.max(v, integer ? 4 : 0) / 4;
  if (!(target > 0)) return { yMax: 1, step: 0.25, decimals: 2 };
  const p = 10 ** Math.floor(Math.log10(target));
  const mult = (integer && p < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]).find((m) => m * p >= target) ?? 10;
  const step = Math.max(integer ? 1 : 0, mult * p);
  return { yMax: step * 4, step, decimals: decimalsOf(step) };
}

// decimals that show `step` (and so each of its multiples) exactly
export function decimalsOf(step) {
  let decimals = 0;
  while (decimals < 12 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * 10 ** decimals * step) decimals += 1;
  return decimals;
}

// The frame: gridlines and y tick labels (`yAxis(value, scale)`); the left pad fits the widest.
function frame(width, height, scale, yAxis, label) {
  const { yMax } = scale;
  const ticks = [0, 1, 2, 3, 4].map((i) => yAxis(yMax * (1 - i / 4), scale));
  const pad = { t: 8, r: 10, b: 20, l: Math.ceil(Math.max(...ticks.map(textWidth))) + 10 };
  const svg = s("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  const grid = s("g", { class: "grid" });
  ticks.forEach((text, i) => {
    const y = pad.t + ((height - pad.t - pad.b) * i) / 4;
    grid.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y }));
    grid.append(s("text", { x: pad.l - 5, y: y + 3, "text-anchor": "end" }, text));
  });
  svg.append(grid);
  return { svg, pad };
}

// x labels spaced to fit their width, each kept inside the plot (never cut at either edge) and
// never over the one before it
function xLabels(svg, xs, x, width, height, pad, xFormat) {
  const n = xs.length;
  if (!n) return;
  const widest = Math.max(...xs.map((t) => textWidth(xFormat(t))));
  const fits = Math.max(1, Math.floor((width - pad.l - pad.r) / (widest + 14)));
  const step = Math.max(1, Math.ceil(n / fits));
  let taken = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i += step) {
    const text = xFormat(xs[i]);
    const half = textWidth(text) / 2;
    const cx = Math.min(width - pad.r - half, Math.max(pad.l + half, x(i)));
    if (cx - half < taken + 8) continue;
    taken = cx + half;
    svg.append(s("text", { x: cx, y: height - pad.b + 14, "text-anchor": "middle" }, text));
  }
}

function legend(names, color = seriesColor) {
  const el = document.createElement("div");
  el.className = "legend";
  names.forEach((name, i) => {
    const item = document.createElement("span");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.background = color(i);
    item.append(dot, name);
    el.append(item);
  });
  return el;
}

// A box that draws `draw(width)` at its own width, again whenever that width changes.
function responsive(draw, extra) {
  const wrap = document.createElement("div");
  wrap.className = "chart-box";
  const plot = document.createElement("div");
  wrap.append(plot);
  if (extra) wrap.append(extra);
  let drawn = 0;
  const observer = new ResizeObserver(() => {
    if (drawn && !plot.isConnected) { observer.disconnect(); return; } // the page moved on
    const width = Math.floor(plot.clientWidth);
    if (width <= 0 || width === drawn) return;
    drawn = width;
    plot.replaceChildren(draw(width));
  });
  observer.observe(plot);
  return wrap;
}

// series: [{name, values: [number|null]}] over the shared xs (e.g. bucket start times)
// yFormat(v): a point's value (in its tooltip); yAxis(v, {step, decimals}): a tick (default: yFormat)
export function lineChart(xs, series, { height = 170, yFormat = String, yAxis, xFormat = String, label = "chart", colors, integer = false, yMin } = {}) {
  const color = (k) => (colors?.[k] ? cssColor(colors[k]) : seriesColor(k));
  const all = series.flatMap((sr) => sr.values).filter((v) => v !== null && v !== undefined);
  const scale = niceScale(Math.max(0, yMin ?? 0, ...all), integer);
  const { yMax } = scale;
  const draw = (width) => {
    const { svg, pad } = frame(width, height, scale, yAxis || yFormat, label);
    const x = (i) => pad.l + ((width - pad.l - pad.r) * (xs.length <= 1 ? 0.5 : i / (xs.length - 1)));
    const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / yMax);
    series.forEach((sr, k) => {
      let d = "";
      let pen = false;
      sr.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      svg.append(s("path", { d, fill: "none", stroke: color(k), "stroke-width": 1.8 }));
      sr.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        svg.append(s("circle", { cx: x(i), cy: y(v), r: 2, fill: color(k) }, s("title", {}, `${sr.name}: ${yFormat(v)} @ ${xFormat(xs[i])}`)));
      });
    });
    xLabels(svg, xs, x, width, height, pad, xFormat);
    return svg;
  };
  return responsive(draw, series.length > 1 ? legend(series.map((sr) => sr.name), color) : null);
}

// stacks: [{name, values: [number]}] stacked per x
export function stackedBars(xs, stacks, { height = 170, xFormat = String, yFormat = (v) => String(Math.round(v)), label = "chart" } = {}) {
  const totals = xs.map((_, i) => stacks.reduce((acc, st) => acc + (st.values[i] || 0), 0));
  const scale = niceScale(Math.max(0, ...totals), true);
  const { yMax } = scale;
  const draw = (width) => {
    const { svg, pad } = frame(width, height, scale, yFormat, label);
    const slot = (width - pad.l - pad.r) / Math.max(1, xs.length);
    const x = (i) => pad.l + slot * i + slot / 2;
    const barHeight = (v) => ((height - pad.t - pad.b) * v) / yMax;
    xs.forEach((_, i) => {
      let base = height - pad.b;
      stacks.forEach((st, k) => {
        const v = st.values[i] || 0;
        if (!v) return;
        const hgt = barHeight(v);
        base -= hgt;
        svg.append(s("rect", { x: pad.l + slot * i + slot * 0.12, y: base, width: slot * 0.76, height: hgt, fill: seriesColor(k) },
          s("title", {}, `${st.name}: ${yFormat(v)} @ ${xFormat(xs[i])}`)));
      });
    });
    xLabels(svg, xs, x, width, height, pad, xFormat);
    return svg;
  };
  return responsive(draw, legend(stacks.map((st) => st.name)));
}

// groups: [{name, values: {metric: number in [0,1]}}], metrics: [names]; one cluster per metric
export function groupedBars(metrics, groups, { height = 180, label = "chart" } = {}) {
  const draw = (width) => {
    const { svg, pad } = frame(width, height, { yMax: 1, step: 0.25, decimals: 2 }, (v) => v.toFixed(2), label);
    const slot = (width - pad.l - pad.r) / Math.max(1, metrics.length);
    const bw = (slot * 0.8) / Math.max(1, groups.length);
    metrics.forEach((m, i) => {
      groups.forEach((g, k) => {
        const v = Math.max(0, Math.min(1, g.values[m] ?? 0));
        const hgt = (height - pad.t - pad.b) * v;
        svg.append(s("rect", { x: pad.l + slot * i + slot * 0.1 + bw * k, y: height - pad.b - hgt, width: bw * 0.9, height: hgt, fill: seriesColor(k) },
          s("title", {}, `${g.name} ${m}: ${v.toFixed(3)}`)));
      });
    });
    // every category keeps a label: shortened when the full names do not fit their slots
    const fits = Math.max(...metrics.map(textWidth)) + 6 <= slot;
    metrics.forEach((m, i) => {
      svg.append(s("text", { x: pad.l + slot * i + slot / 2, y: height - pad.b + 14, "text-anchor": "middle" }, fits ? m : m.slice(0, 4), s("title", {}, m)));
    });
    return svg;
  };
  return responsive(draw, legend(groups.map((g) => g.name)));
}
