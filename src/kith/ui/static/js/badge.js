// The unread count in the tab's title and on its icon. A "quiet" badge (while busy)
// is grey instead of red. The icon is an SVG built from a number only, shown as a
// blob: URL (the page's CSP allows no data: images).

const ICON = "/static/icon.svg";
let shownUrl = null;

function badgeSvg(count, quiet) {
  const label = count > 99 ? "99+" : String(Math.trunc(count));
  const colour = quiet ? "#80848e" : "#d83c3e";
  const size = label.length > 2 ? 11 : 14;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" rx="8" fill="#4752c4"/>` +
    `<circle cx="20" cy="12" r="12" fill="${colour}"/>` +
    `<text x="20" y="17" font-family="sans-serif" font-size="${size}" font-weight="700" fill="#fff" text-anchor="middle">${label}</text></svg>`;
}

/** Show `count` unread messages in the title and icon (0 restores both). */
export function showUnread(count, { quiet = false } = {}) {
  document.title = count ? `(${count}) Kith` : "Kith";
  document.body.dataset.unread = String(count);
  document.body.dataset.quiet = quiet ? "true" : "false";
  const link = document.querySelector("link[rel='icon']");
  if (!link) return;
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = count ? URL.createObjectURL(new Blob([badgeSvg(count, quiet)], { type: "image/svg+xml" })) : null;
  link.href = shownUrl || ICON;
}
