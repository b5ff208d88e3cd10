// imlogin in a page without a framework or a bundler.
//
// The link server and the app key come from the query string here
// (?appKey=…&linkUrl=ws://…/link); a real app builds them in. The accid and
// token come from your app server after the user signed in to your app; this
// example lets you type them (the console of `npm run demo` creates test
// accounts) or pass them as ?accid=…&token=….
import init, { LoginManager } from "imlogin";

const query = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

await init(); // fetches imlogin_bg.wasm next to imlogin.js
const im = new LoginManager({
  appKey: query.get("appKey") ?? "demo",
  linkUrl: query.get("linkUrl") ?? "ws://127.0.0.1:8080/link",
});

function render() {
  $("status").textContent = im.status;
  $("who").textContent = im.accid ? `as ${im.accid}` : "";
  $("clients").replaceChildren(
    ...im.clients.map((c) => {
      const item = document.createElement("li");
      const kick = document.createElement("button");
      kick.textContent = "Kick";
      kick.onclick = () => im.kickClient(c.clientId).catch(show);
      item.append(`${c.clientType} ${c.deviceId} `, kick);
      return item;
    }),
  );
}

function show(error) {
  $("error").textContent = error ? `${error.code}: ${error.message}` : "";
}

im.on("status", render);
im.on("clients", render);
im.on("loginFailed", show);
im.on("kicked", (k) => show({ code: "kicked", message: k.reason }));

$("accid").value = query.get("accid") ?? "";
$("token").value = query.get("token") ?? "";
$("form").onsubmit = (event) => {
  event.preventDefault();
  show(null);
  im.login($("accid").value, $("token").value).catch(show);
};
$("logout").onclick = () => im.logout();

render();
// Resume the session of an earlier visit, if there is one.
im.autoLogin().catch(show);
