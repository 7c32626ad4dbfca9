// Pictures side by side with their titles and captions, in one page element (see
// cnndemo.figures.draw.gallery_data): the Draw page's layer maps. Text goes in as text, never
// as HTML. Streamlit calls the default function again on every rerun with new data; the
// figures are reused, only their pictures and words change.

function figure() {
  const fig = document.createElement("figure");
  fig.className = "cnn-gallery-item";
  const title = document.createElement("div");
  title.className = "cnn-gallery-title";
  const img = document.createElement("img");
  img.decoding = "async";
  const cap = document.createElement("figcaption");
  const text = document.createElement("span");
  const code = document.createElement("code");
  cap.append(text, code);
  fig.append(title, img, cap);
  return fig;
}

export default function (component) {
  const { parentElement, data } = component;
  const box = parentElement.querySelector(".cnn-gallery");
  box.style.gridTemplateColumns = data.widths.map((w) => `minmax(0, ${w}fr)`).join(" ");
  box.setAttribute("aria-label", data.label || "");
  box.classList.toggle("cnn-pixelated", !!data.pixelated);
  while (box.children.length > data.items.length) box.lastChild.remove();
  data.items.forEach((item, i) => {
    const fig = box.children[i] || box.appendChild(figure());
    const [title, img, cap] = fig.children;
    title.textContent = item.title;
    title.style.display = item.title ? "" : "none";
    if (img.getAttribute("src") !== item.src) {
      img.width = item.w;
      img.height = item.h;
      img.src = item.src;
    }
    img.alt = item.alt;
    cap.children[0].textContent = item.caption;
    cap.children[1].textContent = item.code;
    cap.style.display = item.caption || item.code ? "" : "none";
  });
}
