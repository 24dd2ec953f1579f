// SVG charts drawn by hand: line, stacked bars over time, grouped bars. No library, no canvas.

const NS = "http://www.w3.org/2000/svg";

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

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v) return m * p; // quarters stay round
  return 10 * p;
}

function frame(width, height, pad, yMax, yFormat, label) {
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "none" });
  const grid = s("g", { class: "grid" });
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + ((height - pad.t - pad.b) * i) / 4;
    grid.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y }));
    grid.append(s("text", { x: pad.l - 4, y: y + 3, "text-anchor": "end" }, yFormat(yMax * (1 - i / 4))));
  }
  svg.append(grid);
  return svg;
}

function xLabels(svg, xs, x, height, pad, xFormat) {
  const n = xs.length;
  const step = Math.max(1, Math.ceil(n / 6));
  for (let i = 0; i < n; i += step) {
    svg.append(s("text", { x: x(i), y: height - pad.b + 13, "text-anchor": "middle" }, xFormat(xs[i])));
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

// series: [{name, values: [number|null]}] over the shared xs (e.g. bucket start times)
export function lineChart(xs, series, { height = 160, yFormat = String, xFormat = String, label = "chart", colors, integer = false } = {}) {
  const color = (k) => (colors?.[k] ? cssColor(colors[k]) : seriesColor(k));
  const width = 600;
  const pad = { t: 8, r: 8, b: 18, l: 46 };
  const all = series.flatMap((sr) => sr.values).filter((v) => v !== null && v !== undefined);
  const top = niceMax(Math.max(0, ...all));
  const yMax = integer ? Math.max(4, top) : top; // whole counts need at least one unit per gridline
  const svg = frame(width, height, pad, yMax, yFormat, label);
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
    svg.append(s("path", { d, fill: "none", stroke: color(k), "stroke-width": 1.8, "vector-effect": "non-scaling-stroke" }));
    sr.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      svg.append(s("circle", { cx: x(i), cy: y(v), r: 2, fill: color(k) }, s("title", {}, `${sr.name}: ${yFormat(v)} @ ${xFormat(xs[i])}`)));
    });
  });
  xLabels(svg, xs, x, height, pad, xFormat);
  const wrap = document.createElement("div");
  wrap.append(svg);
  if (series.length > 1) wrap.append(legend(series.map((sr) => sr.name), color));
  return wrap;
}

// stacks: [{name, values: [number]}] stacked per x
export function stackedBars(xs, stacks, { height = 160, xFormat = String, label = "chart" } = {}) {
  const width = 600;
  const pad = { t: 8, r: 8, b: 18, l: 46 };
  const totals = xs.map((_, i) => stacks.reduce((acc, st) => acc + (st.values[i] || 0), 0));
  const yMax = Math.max(4, niceMax(Math.max(0, ...totals)));
  const svg = frame(width, height, pad, yMax, (v) => Math.round(v), label);
  const slot = (width - pad.l - pad.r) / Math.max(1, xs.length);
  const x = (i) => pad.l + slot * i + slot / 2;
  const scale = (v) => ((height - pad.t - pad.b) * v) / yMax;
  xs.forEach((_, i) => {
    let base = height - pad.b;
    stacks.forEach((st, k) => {
      const v = st.values[i] || 0;
      if (!v) return;
      const hgt = scale(v);
      base -= hgt;
      svg.append(s("rect", { x: pad.l + slot * i + slot * 0.12, y: base, width: slot * 0.76, height: hgt, fill: seriesColor(k) },
        s("title", {}, `${st.name}: ${v} @ ${xFormat(xs[i])}`)));
    });
  });
  xLabels(svg, xs, x, height, pad, xFormat);
  const wrap = document.createElement("div");
  wrap.append(svg, legend(stacks.map((st) => st.name)));
  return wrap;
}

// groups: [{name, values: {metric: number in [0,1]}}], metrics: [names]; one cluster per metric
export function groupedBars(metrics, groups, { height = 170, label = "chart" } = {}) {
  const width = 600;
  const pad = { t: 8, r: 8, b: 18, l: 34 };
  const svg = frame(width, height, pad, 1, (v) => v.toFixed(2), label);
  const slot = (width - pad.l - pad.r) / Math.max(1, metrics.length);
  const bw = (slot * 0.8) / Math.max(1, groups.length);
  metrics.forEach((m, i) => {
    groups.forEach((g, k) => {
      const v = Math.max(0, Math.min(1, g.values[m] ?? 0));
      const hgt = (height - pad.t - pad.b) * v;
      svg.append(s("rect", { x: pad.l + slot * i + slot * 0.1 + bw * k, y: height - pad.b - hgt, width: bw * 0.9, height: hgt, fill: seriesColor(k) },
        s("title", {}, `${g.name} ${m}: ${v.toFixed(3)}`)));
    });
    svg.append(s("text", { x: pad.l + slot * i + slot / 2, y: height - pad.b + 13, "text-anchor": "middle" }, m));
  });
  const wrap = document.createElement("div");
  wrap.append(svg, legend(groups.map((g) => g.name)));
  return wrap;
}
