import init, { LoginManager } from "imlogin";
import { createApp } from "vue";
import App from "./App.vue";

// The link server and the app key come from the query string here
// (?appKey=…&linkUrl=ws://…/link); a real app builds them in.
const query = new URLSearchParams(location.search);

// init() fetches the wasm module once; do it before mounting (or mount a
// loading state first). The manager lives as long as the page.
await init();
const im = new LoginManager({
  appKey: query.get("appKey") ?? "demo",
  linkUrl: query.get("linkUrl") ?? "ws://127.0.0.1:8080/link",
});

createApp(App, {
  im,
  initialAccid: query.get("accid") ?? "",
  initialToken: query.get("token") ?? "",
}).mount("#app");
