// The console page: signs each request with the AppSecret the way the
// server API is signed (CheckSum = sha1(AppSecret + Nonce + CurTime)), so
// the secret never leaves the page. Rendering uses textContent only.

const $ = (id) => document.getElementById(id);
let creds = null;

class ConsoleError extends Error {
  constructor(code, desc) {
    super(describe(code, desc));
    this.code = code;
  }
}

function describe(code, desc) {
  switch (code) {
    case 403:
      return "The AppKey or AppSecret is wrong (or this computer's clock is more than 5 minutes off).";
    case 414:
      return desc === "already registered"
        ? "That accid is already taken."
        : `Invalid input: ${desc}.`;
    case 416:
      return "Too many requests; wait a moment.";
    default:
      return `The server answered ${code}: ${desc || "server error"}.`;
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha1Hex(text) {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return hex(new Uint8Array(digest));
}

async function call(method, path, params) {
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const curTime = String(Math.floor(Date.now() / 1000));
  const headers = {
    AppKey: creds.appKey,
    Nonce: nonce,
    CurTime: curTime,
    CheckSum: await sha1Hex(creds.appSecret + nonce + curTime),
  };
  let body;
  if (params) {
    body = new URLSearchParams(params);
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  let json;
  try {
    const res = await fetch(path, { method, headers, body });
    json = await res.json();
  } catch {
    throw new Error("Cannot reach the server.");
  }
  if (json.code !== 200) throw new ConsoleError(json.code, json.desc);
  return json;
}

function showError(e) {
  $("error").textContent = e ? e.message : "";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function render(accounts) {
  const body = $("accounts").querySelector("tbody");
  body.replaceChildren();
  for (const a of accounts) {
    const row = document.createElement("tr");
    row.dataset.accid = a.accid;
    cell(row, a.accid).className = "mono";
    cell(row, a.name || "—");
    cell(row, a.blocked ? "blocked" : "active").className = a.blocked ? "blocked" : "active";
    cell(row, new Date(a.createdAt).toLocaleString());
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = a.blocked ? "Unblock" : "Block";
    button.setAttribute("aria-label", `${button.textContent} ${a.accid}`);
    button.addEventListener("click", () => setBlocked(a.accid, !a.blocked));
    cell(row, "").append(button);
    body.append(row);
  }
  $("accounts").hidden = accounts.length === 0;
  $("empty").hidden = accounts.length !== 0;
}

async function refresh() {
  const { accounts } = await call("GET", "/console/api/accounts");
  render(accounts);
}

async function setBlocked(accid, blocked) {
  showError(null);
  try {
    await call("POST", blocked ? "/console/api/block" : "/console/api/unblock", { accid });
    $("created").textContent = `${accid} is now ${blocked ? "blocked (its sessions were kicked)" : "active"}.`;
    await refresh();
  } catch (e) {
    showError(e);
  }
}

$("auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(null);
  if (!globalThis.crypto?.subtle) {
    showError(new Error("The console signs requests with Web Crypto, which needs a secure context: open it over https or on localhost / 127.0.0.1."));
    return;
  }
  creds = { appKey: $("app-key").value.trim(), appSecret: $("app-secret").value };
  try {
    await refresh();
    $("auth").hidden = true;
    $("accounts-section").hidden = false;
    $("new-accid").focus();
  } catch (e) {
    creds = null;
    showError(e);
  }
});

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(null);
  const params = {};
  for (const [k, v] of new FormData(event.target)) if (String(v).trim()) params[k] = String(v).trim();
  try {
    const { info } = await call("POST", "/console/api/accounts", params);
    $("created").textContent = `Created ${info.accid} — token ${info.token} (shown once; the server keeps only its hash).`;
    event.target.reset();
    await refresh();
  } catch (e) {
    showError(e);
  }
});
