import init, { LoginManager } from "imlogin";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

// The link server and the app key come from the query string here
// (?appKey=…&linkUrl=ws://…/link); a real app builds them in.
const query = new URLSearchParams(location.search);

// init() fetches the wasm module once; do it before rendering (or render a
// loading state first). The manager lives as long as the page.
await init();
const im = new LoginManager({
  appKey: query.get("appKey") ?? "demo",
  linkUrl: query.get("linkUrl") ?? "ws://127.0.0.1:8080/link",
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App im={im} initialAccid={query.get("accid") ?? ""} initialToken={query.get("token") ?? ""} />
  </StrictMode>,
);
