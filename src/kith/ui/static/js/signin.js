// The sign-in page (/login#code=...): trade the one-time code for a session, then open the app.
// The code travels in the URL's fragment, which the browser never sends to a server;
// it is removed from the address bar and the history before anything else happens.

import { saveSession } from "./session.js";

const message = document.getElementById("signin-message");
const help = document.getElementById("signin-help");

function fail(text) {
  message.textContent = text;
  help.hidden = false;
  document.body.dataset.signin = "failed";
}

async function trade(code) {
  const response = await fetch("/api/sessions", {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ code }),
  });
  if (!response.ok) return null;
  const body = await response.json();
  return typeof body.session === "string" ? body.session : null;
}

async function signIn() {
  const code = new URLSearchParams(window.location.hash.slice(1)).get("code");
  window.history.replaceState(null, "", "/login");
  if (!code) return fail("This browser is not signed in to your Kith node.");
  let session = null;
  try {
    session = await trade(code);
  } catch {
    return fail("Your Kith node does not answer: is `kith run` still running?");
  }
  if (!session) return fail("This sign-in link is invalid, expired or was already used: not signed in.");
  saveSession(session);
  window.location.replace("/");
}

signIn();
