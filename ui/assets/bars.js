// Bars drawn on one <canvas>: one bar per class, the chosen one in the accent colour, its
// value written above it, the exact value of the bar under the pointer. The Draw page's
// probabilities, without a plotly mount on every drawing. Called again on every rerun.

const MOUNTS = new WeakMap();
const TOP = 22, BOTTOM = 24, LEFT = 56, RIGHT = 6;

function paint(m) {
  const d = m.data, dpr = window.devicePixelRatio || 1, cv = m.canvas;
  const w = Math.max(200, m.box.clientWidth || 400), h = d.height;
  cv.width = Math.round(w * dpr);
  cv.height = Math.round(h * dpr);
  cv.style.width = w + "px";
  cv.style.height = h + "px";
  const ctx = cv.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const n = d.values.length, plotH = h - TOP - BOTTOM, slot = (w - LEFT - RIGHT) / n;
  const y = (v) => TOP + plotH * (1 - v / d.ymax);
  ctx.font = "11px sans-serif";
  ctx.fillStyle = m.textColour;
  ctx.strokeStyle = "rgba(128,128,128,0.25)";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of d.ticks) {
    ctx.beginPath();
    ctx.moveTo(LEFT, y(t) + 0.5);
    ctx.lineTo(w - RIGHT, y(t) + 0.5);
    ctx.stroke();
    ctx.fillText(Math.round(t * 100) + "%", LEFT - 6, y(t));
  }
  if (d.axis) {
    ctx.save();
    ctx.translate(12, TOP + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = "12px sans-serif";
    ctx.fillText(d.axis, 0, 0);
    ctx.restore();
  }
  m.geometry = [];
  for (let i = 0; i < n; i++) {
    const v = d.values[i], x = LEFT + i * slot + slot * 0.15, bw = slot * 0.7;
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

function mount(root) {
  const box = root.querySelector(".cnn-bars");
  const canvas = document.createElement("canvas");
  canvas.className = "cnn-bars-canvas";
  const tip = document.createElement("div");
  tip.className = "cnn-bars-tip";
  box.appendChild(canvas);
  box.appendChild(tip);
  const m = { box, canvas, tip, data: null, geometry: [], textColour: "#888" };
  const show = (e) => {
    const r0 = canvas.getBoundingClientRect(), x = e.clientX - r0.left;
    const i = m.geometry.findIndex(([x0, bw]) => x >= x0 && x <= x0 + bw);
    if (i < 0 || !m.data) {
      tip.style.display = "none";
      return;
    }
    tip.textContent = m.data.hovers[i];
    tip.style.display = "block";
    tip.style.left = Math.max(0, Math.min(m.geometry[i][0], r0.width - tip.offsetWidth)) + "px";
    tip.style.top = "0px";
  };
  canvas.addEventListener("pointermove", show);
  canvas.addEventListener("pointerdown", show);
  canvas.addEventListener("pointerleave", () => (tip.style.display = "none"));
  new ResizeObserver(() => m.data && paint(m)).observe(box);
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
