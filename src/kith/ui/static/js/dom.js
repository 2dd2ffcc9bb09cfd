// Tiny DOM helpers. Text always goes through textContent: no HTML from data.

/** Create an element: h("button", {class: "x", onclick: f}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Show a message in an inline error/notice element (empty hides it). */
export function say(el, text, kind = "error") {
  el.textContent = text || "";
  el.hidden = !text;
  el.classList.toggle("error", kind === "error");
  el.classList.toggle("ok", kind === "ok");
}
