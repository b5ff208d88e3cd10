// The IM panel: one LoginManager and everything the page shows about it —
// status badge, reconnect countdown, accid/deviceId, other devices, the
// event timeline and errors in words.

import { imCredentials } from "./app-api.js";
import { kickText, loginErrorText } from "./words.js";

const $ = (id) => document.getElementById(id);
const TIMELINE_MAX = 60;

export class ImPanel {
  /** @param {import("./pkg/imlogin.js").LoginManager} im */
  constructor(im) {
    this.im = im;
    this.nextAttemptAt = null;
    this.ticker = null;
    this.deviceCount = 0;
    im.on("status", (s) => this.onStatus(s));
    im.on("loginFailed", (e) => this.log("error", `Login failed — ${loginErrorText(e)}`));
    im.on("kicked", (d) => this.onKicked(d));
    im.on("reconnecting", (r) => this.onReconnecting(r));
    im.on("clients", ({ clients, change, client }) => {
      if (client) {
        const what = change === "login" ? "logged in" : "logged out";
        this.log("info", `A ${client.clientType} device ${what} (${client.deviceId.slice(0, 8)}…)`);
      } else if (clients.length !== this.deviceCount) {
        this.log("info", `Other devices logged in: ${clients.length}`);
      }
      this.renderDevices(clients);
    });
    $("im-login").addEventListener("click", () => this.login());
    $("im-logout").addEventListener("click", () => this.logout());
    $("device-id").textContent = im.deviceId;
    this.onStatus(im.status);
  }

  /** On page load: resume the saved session, if it is this user's. */
  async resume(user) {
    if (!user.accid) {
      // This user never used IM: whatever is saved is someone else's.
      await this.im.logout();
      return;
    }
    try {
      const resumed = await this.im.autoLogin();
      if (resumed && this.im.accid !== user.accid) {
        await this.im.logout();
        this.log("info", "Discarded another user's saved IM session");
      } else if (!resumed) {
        this.log("info", "No saved IM session: use “Log in to IM”");
      }
    } catch (e) {
      this.showError(`Automatic login failed — ${loginErrorText(e)}`);
    }
  }

  /** Manual login with the credentials the app server hands out. */
  async login() {
    this.showError("");
    const force = $("force").checked;
    $("im-login").disabled = true;
    try {
      const { accid, token } = await imCredentials();
      this.log("info", `Got IM credentials for ${accid} from the app server`);
      await this.im.login(accid, token, { force });
    } catch (e) {
      this.showError(e.name === "LoginError" ? `Login failed — ${loginErrorText(e)}` : e.message);
    } finally {
      this.onStatus(this.im.status);
    }
  }

  async logout() {
    this.showError("");
    await this.im.logout();
    this.log("info", "Logged out of IM");
  }

  onStatus(status) {
    const badge = $("status");
    if (badge.textContent !== status) this.log("status", `Status: ${status}`);
    badge.textContent = status;
    badge.dataset.status = status;
    $("accid").textContent = this.im.accid ?? "—";
    $("im-login").disabled = status !== "loggedOut";
    $("im-logout").disabled = status === "loggedOut";
    if (status === "loggedIn") this.showError("");
    if (status === "loggedOut") this.renderDevices([]);
    this.updateCountdown();
  }

  onKicked({ reason, clientType }) {
    const by = clientType ? ` (by a ${clientType} client)` : "";
    this.log("error", `Kicked: ${reason} — ${kickText(reason)}${by}`);
    this.showError(`You were logged out of IM: ${kickText(reason)}. It will not reconnect by itself.`);
  }

  onReconnecting({ attempt, delayMs, reason, closeCode, code }) {
    this.nextAttemptAt = performance.now() + delayMs;
    const why = closeCode ? `${reason} ${closeCode}` : code ? `${reason} ${code}` : reason;
    this.log("info", `Reconnecting: attempt ${attempt} in ${(delayMs / 1000).toFixed(1)} s (${why})`);
    this.updateCountdown();
  }

  updateCountdown() {
    const box = $("countdown");
    const waiting = this.im.status === "waiting" && this.nextAttemptAt !== null;
    if (!waiting) {
      box.hidden = true;
      clearInterval(this.ticker);
      this.ticker = null;
      return;
    }
    const left = Math.max(0, this.nextAttemptAt - performance.now());
    box.textContent = `Next attempt in ${(left / 1000).toFixed(1)} s`;
    box.hidden = false;
    this.ticker ??= setInterval(() => this.updateCountdown(), 100);
  }

  renderDevices(list) {
    const ul = $("devices");
    ul.replaceChildren();
    for (const c of list) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      const since = new Date(c.loginAt).toLocaleTimeString();
      text.textContent = `${c.clientType} · ${c.customTag ?? "device"} · ${c.deviceId.slice(0, 8)}… · since ${since}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary small";
      button.textContent = "Kick";
      button.setAttribute("aria-label", `Kick the ${c.clientType} device ${c.deviceId.slice(0, 8)}`);
      button.addEventListener("click", () => this.kick(c));
      li.append(text, button);
      ul.append(li);
    }
    $("no-devices").hidden = list.length > 0;
    this.deviceCount = list.length;
  }

  async kick(client) {
    this.showError("");
    try {
      await this.im.kickClient(client.clientId);
      this.log("info", `Kicked the ${client.clientType} device ${client.deviceId.slice(0, 8)}…`);
    } catch (e) {
      this.showError(`Could not kick that device — ${loginErrorText(e)}`);
    }
  }

  showError(text) {
    $("im-error").textContent = text;
  }

  /** Adds a timeline entry; `kind` is status, info or error. */
  log(kind, text) {
    const li = document.createElement("li");
    li.className = `event-${kind}`;
    const time = document.createElement("time");
    const now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString();
    li.append(time, ` ${text}`);
    const list = $("timeline");
    list.prepend(li);
    while (list.children.length > TIMELINE_MAX) list.lastElementChild.remove();
  }
}
