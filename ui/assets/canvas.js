// The Draw page's canvas: a plain <canvas> a student draws on with a mouse, a pen or a finger.
// Each lifted stroke is sent to Python at once, as the PNG of the whole canvas
// (white ink on black, the canvas's own size), with the number of strokes on it.
// Streamlit calls this function again on every rerun (new data: the pen width, the labels);
// the canvas and its strokes are kept per mount, so a rerun never wipes the drawing.

const MOUNTS = new WeakMap();

function redraw(m) {
  const ctx = m.canvas.getContext("2d");
  ctx.fillStyle = "#000000";
  ctx.fillRect(0, 0, m.canvas.width, m.canvas.height);
  for (const s of m.strokes) paintStroke(ctx, s);
}

function paintStroke(ctx, s) {
  ctx.strokeStyle = "#FFFFFF";
  ctx.fillStyle = "#FFFFFF";
  ctx.lineWidth = s.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const p = s.points;
  if (p.length === 1) {
    ctx.beginPath();
    ctx.arc(p[0][0], p[0][1], s.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(p[0][0], p[0][1]);
  for (let i = 1; i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
  ctx.stroke();
}

function send(m) {
  const png = m.strokes.length ? m.canvas.toDataURL("image/png") : null;
  m.setStateValue("drawing", { png: png, strokes: m.strokes.length });
}

function mount(root, data) {
  const box = root.querySelector(".cnn-canvas-box");
  const canvas = document.createElement("canvas");
  // dc-canvas / upper-canvas: the names the class-load tool and the browser tests look for.
  canvas.className = "cnn-canvas dc-canvas upper-canvas";
  canvas.width = data.size;
  canvas.height = data.size;
  box.style.width = data.size + "px";
  const undo = document.createElement("button");
  undo.type = "button";
  undo.className = "cnn-canvas-undo";
  undo.textContent = "↶";
  box.appendChild(canvas);
  box.appendChild(undo);
  const m = { canvas, undo, strokes: [], current: null, width: data.stroke, setStateValue: () => {} };
  redraw(m);

  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    m.current = { width: m.width, points: [at(e)], id: e.pointerId };
    paintStroke(canvas.getContext("2d"), m.current);
  });
  canvas.addEventListener("pointermove", (e) => {
    const s = m.current;
    if (!s || e.pointerId !== s.id) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    const ctx = canvas.getContext("2d");
    for (const ev of events.length ? events : [e]) {
      const last = s.points[s.points.length - 1];
      const p = at(ev);
      s.points.push(p);
      paintStroke(ctx, { width: s.width, points: [last, p] });
    }
  });
  const finish = (e) => {
    const s = m.current;
    if (!s || e.pointerId !== s.id) return;
    m.current = null;
    m.strokes.push(s);
    send(m);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  undo.addEventListener("click", () => {
    if (!m.strokes.length) return;
    m.strokes.pop();
    redraw(m);
    send(m);
  });
  return m;
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  let m = MOUNTS.get(parentElement);
  if (!m) {
    m = mount(parentElement, data);
    MOUNTS.set(parentElement, m);
  }
  m.setStateValue = setStateValue;
  m.width = data.stroke;
  m.undo.title = data.undo;
  m.undo.setAttribute("aria-label", data.undo);
  m.canvas.setAttribute("aria-label", data.label);
}
