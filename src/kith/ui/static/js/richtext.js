// Message text to DOM nodes: clickable http(s) links and light markdown (**bold**,
// *italic* or _italic_, `inline code`, ```code blocks```). Only elements are built and
// text goes in as text nodes: no HTML is ever parsed from a message. Links open in a
// new tab with rel="noopener noreferrer" and are never fetched for previews.

import { h } from "./dom.js";

const FENCE = /```(?:[^\n`]*\n)?([\s\S]*?)```/g;
const INLINE = /`([^`\n]+)`|\*\*(?=\S)([\s\S]*?\S)\*\*|(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])|\bhttps?:\/\/[^\s<>"]+/g;
const TRAILING = ".,;:!?)]}'\"";

/** A link element for `url` if it is an http(s) URL, else null. */
export function safeLink(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return h("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, url);
}

function splitUrl(raw) {
  let end = raw.length;
  while (end > 0 && TRAILING.includes(raw[end - 1])) {
    // Keep a closing bracket that closes one opened inside the URL (Wikipedia style).
    const kept = raw.slice(0, end);
    if (raw[end - 1] === ")" && kept.split("(").length >= kept.split(")").length) break;
    end -= 1;
  }
  return [raw.slice(0, end), raw.slice(end)];
}

/** Inline markup of one stretch of text (no code fences in it). */
function inline(text, depth = 0) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    out.push(text.slice(last, match.index));
    last = match.index + match[0].length;
    const [whole, code, bold, star, under] = match;
    if (code !== undefined) out.push(h("code", {}, code));
    else if (bold !== undefined) out.push(h("strong", {}, depth < 3 ? inline(bold, depth + 1) : bold));
    else if (star !== undefined || under !== undefined) {
      const body = star ?? under;
      out.push(h("em", {}, depth < 3 ? inline(body, depth + 1) : body));
    } else {
      const [url, rest] = splitUrl(whole);
      out.push(safeLink(url) || url, rest);
    }
  }
  out.push(text.slice(last));
  return out.filter((part) => part !== "");
}

/** The nodes that show `text`: code blocks as <pre><code>, the rest through inline markup. */
export function renderText(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    out.push(...inline(text.slice(last, match.index)));
    out.push(h("pre", {}, h("code", {}, match[1].replace(/\n$/, ""))));
    last = match.index + match[0].length;
  }
  out.push(...inline(text.slice(last)));
  return out;
}
