// The demo page: sign-in against the demo app server, then the IM panel.
// The imlogin package is served by imlogin-server at ./pkg/.

import init, { LoginManager } from "./pkg/imlogin.js";
import * as app from "./app-api.js";
import { ImPanel } from "./im-panel.js";

const $ = (id) => document.getElementById(id);

function linkUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/link`;
}

function show(user) {
  $("loading").hidden = true;
  $("auth").hidden = !!user;
  $("im").hidden = !user;
  $("account").hidden = !user;
  $("username").textContent = user ? user.username : "";
}

async function start() {
  const [{ appKey }] = await Promise.all([app.config(), init()]);
  const im = new LoginManager({ appKey, linkUrl: linkUrl(), customTag: "demo page" });
  const panel = new ImPanel(im);

  $("auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const mode = event.submitter?.value === "register" ? "register" : "login";
    const username = $("auth-username").value.trim();
    const password = $("auth-password").value;
    $("auth-error").textContent = "";
    if (!username || !password) {
      $("auth-error").textContent = "Enter a username and a password.";
      return;
    }
    try {
      const user = await app.signIn(mode, username, password);
      // A fresh sign-in: any saved IM session belongs to an earlier one.
      await im.logout();
      $("auth-password").value = "";
      show(user);
      panel.log("info", `${mode === "register" ? "Registered and signed in" : "Signed in"} as ${user.username}`);
      $("im-login").focus();
    } catch (e) {
      $("auth-error").textContent = e.message;
    }
  });

  $("sign-out").addEventListener("click", async () => {
    await im.logout();
    try {
      await app.signOut();
    } catch {
      // Signed out locally either way.
    }
    show(null);
    $("auth-username").focus();
  });

  const user = await app.me();
  show(user);
  if (user) await panel.resume(user);
}

start().catch((e) => {
  $("loading").hidden = false;
  $("loading").className = "card error";
  $("loading").setAttribute("role", "alert");
  $("loading").textContent = `The demo could not start: ${e.message}`;
});
