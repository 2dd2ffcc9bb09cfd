// User input in the page counts as activity for auto-away (throttled pings).

const THROTTLE_MS = 30_000;

export function trackActivity(ping) {
  let last = 0;
  const seen = () => {
    const now = Date.now();
    if (document.hidden || now - last < THROTTLE_MS) return;
    last = now;
    ping().catch(() => {});
  };
  for (const type of ["keydown", "pointerdown", "wheel", "focus"]) {
    window.addEventListener(type, seen, { passive: true, capture: true });
  }
  document.addEventListener("visibilitychange", seen);
}
