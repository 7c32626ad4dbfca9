// The Draw page's canvas charts: a heatmap and bars, each drawn on one <canvas>, with the
// exact value under the pointer (mouse, pen or finger) in a tooltip. They show what the page
// showed with plotly (cells, colours, colour bar, values; bars with their percentages), in a
// millisecond instead of a plotly mount: a few hundred ms of the browser's main thread per
// drawing on a classroom laptop. Which chart a mount is comes from its root element (see
// ui/charts.py). Streamlit calls the default function again on every rerun with new data.

const MOUNTS = new WeakMap();

// ----------------------------------------------------------------------------- heatmap
const H_TOP = 18, H_LEFT = 26, GAP = 12, BAR = 10, LABELS = 48;

function colour(stops, t) {
  t = Math.min(1, Math.max(0, t));
  for (let i = 1; i < stops.length; i++) {
    const [p1, c1] = stops[i];
    const [p0, c0] = stops[i - 1];
    if (t <= p1) {
      const f = p1 > p0 ? (t - p0) / (p1 - p0) : 0;
      return [0, 1, 2].map((k) => Math.round(c0[k] + (c1[k] - c0[k]) * f));
    }
  }
  return stops[stops.length - 1][1];
}

function fmt(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

// The hover text, from a plotly-style template: %{x} column, %{y} row, %{z:.3f} value.
function hoverText(template, row, col, v) {
  return template
    .replace(/%\{x\}/g, String(col))
    .replace(/%\{y\}/g, String(row))
    .replace(/%\{z(?::\.(\d)f)?\}/g, (_, d) => fmt(v, d === undefined ? 3 : Number(d)));
}

function heatLayout(d) {
  const rows = d.z.length, cols = d.z[0].length;
  const cell = Math.max(4, Math.floor((d.height - H_TOP) / rows));
  const w = H_LEFT + cell * cols + GAP + BAR + LABELS;
  return { rows, cols, cell, w, h: H_TOP + cell * rows };
}

function paintHeatmap(m) {
  const d = m.data, L = heatLayout(d), dpr = window.devicePixelRatio || 1;
  const cv = m.canvas;
  cv.width = Math.round(L.w * dpr);
  cv.height = Math.round(L.h * dpr);
  cv.style.width = L.w + "px";
  cv.style.height = L.h + "px";
  const ctx = cv.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, L.w, L.h);
  const span = d.zmax - d.zmin || 1;
  for (let r = 0; r < L.rows; r++) {
    for (let c = 0; c < L.cols; c++) {
      const v = d.z[r][c];
      const [R, G, B] = colour(d.stops, (v - d.zmin) / span);
      ctx.fillStyle = `rgb(${R},${G},${B})`;
      ctx.fillRect(H_LEFT + c * L.cell, H_TOP + r * L.cell, L.cell, L.cell);
      if (d.text) {
        ctx.fillStyle = 0.299 * R + 0.587 * G + 0.114 * B > 140 ? "#111" : "#fff";
        ctx.font = `${Math.min(12, Math.floor(L.cell / 3.2))}px sans-serif`;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(fmt(v, 2), H_LEFT + (c + 0.5) * L.cell, H_TOP + (r + 0.5) * L.cell);
      }
    }
  }
  // row and column numbers
  ctx.fillStyle = m.textColour;
  ctx.font = "10px sans-serif";
  const step = Math.max(L.rows, L.cols) <= 7 ? 1 : 5;
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  for (let c = 0; c < L.cols; c += step) ctx.fillText(String(c), H_LEFT + (c + 0.5) * L.cell, H_TOP - 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let r = 0; r < L.rows; r += step) ctx.fillText(String(r), H_LEFT - 4, H_TOP + (r + 0.5) * L.cell);
  // the colour bar, its ends and middle labelled
  const bx = H_LEFT + L.cols * L.cell + GAP, by = H_TOP, bh = L.rows * L.cell;
  for (let y = 0; y < bh; y++) {
    const [R, G, B] = colour(d.stops, 1 - y / Math.max(1, bh - 1));
    ctx.fillStyle = `rgb(${R},${G},${B})`;
    ctx.fillRect(bx, by + y, BAR, 1);
  }
  ctx.fillStyle = m.textColour;
  ctx.textAlign = "left";
  const ticks = [[d.zmax, by + 5], [(d.zmax + d.zmin) / 2, by + bh / 2], [d.zmin, by + bh - 5]];
  for (const [v, y] of ticks) ctx.fillText(fmt(v, Math.abs(v) >= 10 ? 1 : 2), bx + BAR + 4, y);
}

// The cell under (x, y), canvas pixels: its tooltip lines and where to show them.
function heatmapTip(m, x, y) {
  const d = m.data, L = heatLayout(d);
  const c = Math.floor((x - H_LEFT) / L.cell), r = Math.floor((y - H_TOP) / L.cell);
  if (x < H_LEFT || y < H_TOP || r >= L.rows || c >= L.cols) return null;
  return { lines: hoverText(d.hover, r, c, d.z[r][c]).split("<br>"),
           left: H_LEFT + (c + 1) * L.cell + 6, top: H_TOP + r * L.cell, width: L.w };
}

// -------------------------------------------------------------------------------- bars
const B_TOP = 22, B_BOTTOM = 24, B_LEFT = 56, B_RIGHT = 6;

function paintBars(m) {
  const d = m.data, dpr = window.devicePixelRatio || 1, cv = m.canvas;
  const w = Math.max(200, m.box.clientWidth || 400), h = d.height;
  cv.width = Math.round(w * dpr);
  cv.height = Math.round(h * dpr);
  cv.style.width = w + "px";
  cv.style.height = h + "px";
  const ctx = cv.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const n = d.values.length, plotH = h - B_TOP - B_BOTTOM, slot = (w - B_LEFT - B_RIGHT) / n;
  const y = (v) => B_TOP + plotH * (1 - v / d.ymax);
  ctx.font = "11px sans-serif";
  ctx.fillStyle = m.textColour;
  ctx.strokeStyle = "rgba(128,128,128,0.25)";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of d.ticks) {
    ctx.beginPath();
    ctx.moveTo(B_LEFT, y(t) + 0.5);
    ctx.lineTo(w - B_RIGHT, y(t) + 0.5);
    ctx.stroke();
    ctx.fillText(Math.round(t * 100) + "%", B_LEFT - 6, y(t));
  }
  if (d.axis) {
    ctx.save();
    ctx.translate(12, B_TOP + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = "12px sans-serif";
    ctx.fillText(d.axis, 0, 0);
    ctx.restore();
  }
  m.geometry = [];
  for (let i = 0; i < n; i++) {
    const v = d.values[i], x = B_LEFT + i * slot + slot * 0.15, bw = slot * 0.7;
    ctx.fillStyle = i === d.top ? d.accent : d.muted;
    ctx.fillRect(x, y(v), bw, y(0) - y(v));
    m.geometry.push([x, bw]);
    ctx.fillStyle = m.textColour;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.font = "13px sans-serif";
    ctx.fillText(d.labels[i], x + bw / 2, y(0) + 6);
    if (d.texts[i]) {
      ctx.textBaseline = "bottom";
      ctx.fillText(d.texts[i], x + bw / 2, y(v) - 3);
    }
  }
}

function barsTip(m, x) {
  const i = m.geometry.findIndex(([x0, bw]) => x >= x0 && x <= x0 + bw);
  if (i < 0) return null;
  return { lines: [m.data.hovers[i]], left: m.geometry[i][0], top: 0, width: m.canvas.clientWidth };
}

// -------------------------------------------------------------------------- both kinds
const KINDS = {
  heatmap: { paint: paintHeatmap, tip: heatmapTip },
  bars: { paint: paintBars, tip: barsTip },
};

function mount(root) {
  const box = root.querySelector(".cnn-chart");
  const kind = KINDS[box.dataset.kind];
  const canvas = document.createElement("canvas");
  canvas.className = `cnn-${box.dataset.kind}-canvas`;
  const tip = document.createElement("div");
  tip.className = `cnn-chart-tip cnn-${box.dataset.kind}-tip`;
  box.appendChild(canvas);
  box.appendChild(tip);
  const m = { kind, box, canvas, tip, data: null, geometry: [], textColour: "#888" };
  const show = (e) => {
    const r0 = canvas.getBoundingClientRect();
    const at = m.data && kind.tip(m, e.clientX - r0.left, e.clientY - r0.top);
    if (!at) {
      tip.style.display = "none";
      return;
    }
    tip.replaceChildren();
    at.lines.forEach((line, i) => {
      if (i) tip.appendChild(document.createElement("br"));
      tip.appendChild(document.createTextNode(line));
    });
    tip.style.display = "block";
    tip.style.left = Math.max(0, Math.min(at.left, at.width - tip.offsetWidth)) + "px";
    tip.style.top = at.top + "px";
  };
  canvas.addEventListener("pointermove", show);
  canvas.addEventListener("pointerdown", show);
  canvas.addEventListener("pointerleave", () => (tip.style.display = "none"));
  new ResizeObserver(() => m.data && kind.paint(m)).observe(box);
  return m;
}

export default function (component) {
  const { parentElement, data } = component;
  let m = MOUNTS.get(parentElement);
  if (!m) {
    m = mount(parentElement);
    MOUNTS.set(parentElement, m);
  }
  m.data = data;
  m.textColour = getComputedStyle(m.canvas).getPropertyValue("--st-text-color").trim() || "#888";
  m.canvas.setAttribute("role", "img");
  m.canvas.setAttribute("aria-label", data.label || "");
  m.tip.style.display = "none";
  m.kind.paint(m);
}
