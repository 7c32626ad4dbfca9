// A heatmap drawn on one <canvas>: square cells, row and column numbers, a colour bar, the
// exact value of the cell under the pointer (mouse, pen or finger), and optionally every
// value written in its cell. It does what the Draw page needs from a plotly heatmap, in a
// millisecond instead of a plotly mount (a few hundred ms of the browser's main thread on a
// classroom laptop). Streamlit calls this again on every rerun with the new data.

const MOUNTS = new WeakMap();
const TOP = 18, LEFT = 26, GAP = 12, BAR = 10, LABELS = 48;

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

function layout(d) {
  const rows = d.z.length, cols = d.z[0].length;
  const cell = Math.max(4, Math.floor((d.height - TOP) / rows));
  const w = LEFT + cell * cols + GAP + BAR + LABELS;
  return { rows, cols, cell, w, h: TOP + cell * rows };
}

function paint(m) {
  const d = m.data, L = layout(d), dpr = window.devicePixelRatio || 1;
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
      ctx.fillRect(LEFT + c * L.cell, TOP + r * L.cell, L.cell, L.cell);
      if (d.text) {
        ctx.fillStyle = 0.299 * R + 0.587 * G + 0.114 * B > 140 ? "#111" : "#fff";
        ctx.font = `${Math.min(12, Math.floor(L.cell / 3.2))}px sans-serif`;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(fmt(v, 2), LEFT + (c + 0.5) * L.cell, TOP + (r + 0.5) * L.cell);
      }
    }
  }
  // row and column numbers
  ctx.fillStyle = m.textColour;
  ctx.font = "10px sans-serif";
  const step = Math.max(L.rows, L.cols) <= 7 ? 1 : 5;
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  for (let c = 0; c < L.cols; c += step) ctx.fillText(String(c), LEFT + (c + 0.5) * L.cell, TOP - 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let r = 0; r < L.rows; r += step) ctx.fillText(String(r), LEFT - 4, TOP + (r + 0.5) * L.cell);
  // the colour bar, its ends and middle labelled
  const bx = LEFT + L.cols * L.cell + GAP, by = TOP, bh = L.rows * L.cell;
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

function mount(root) {
  const box = root.querySelector(".cnn-heatmap");
  const canvas = document.createElement("canvas");
  canvas.className = "cnn-heatmap-canvas";
  const tip = document.createElement("div");
  tip.className = "cnn-heatmap-tip";
  box.appendChild(canvas);
  box.appendChild(tip);
  const m = { canvas, tip, data: null, textColour: "#888" };
  const show = (e) => {
    if (!m.data) return;
    const L = layout(m.data), r0 = canvas.getBoundingClientRect();
    const x = e.clientX - r0.left - LEFT, y = e.clientY - r0.top - TOP;
    const c = Math.floor(x / L.cell), r = Math.floor(y / L.cell);
    if (x < 0 || y < 0 || r >= L.rows || c >= L.cols) {
      tip.style.display = "none";
      return;
    }
    tip.innerHTML = "";
    hoverText(m.data.hover, r, c, m.data.z[r][c]).split("<br>").forEach((line, i) => {
      if (i) tip.appendChild(document.createElement("br"));
      tip.appendChild(document.createTextNode(line));
    });
    tip.style.display = "block";
    const left = LEFT + (c + 1) * L.cell + 6;
    tip.style.left = Math.min(left, L.w - tip.offsetWidth) + "px";
    tip.style.top = TOP + r * L.cell + "px";
  };
  canvas.addEventListener("pointermove", show);
  canvas.addEventListener("pointerdown", show);
  canvas.addEventListener("pointerleave", () => (tip.style.display = "none"));
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
  paint(m);
}
