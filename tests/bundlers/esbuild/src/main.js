import init, { LoginManager } from "imlogin";
// esbuild does not follow new URL(…, import.meta.url): import the module
// instead (--loader:.wasm=file copies it next to the bundle and gives its
// path relative to the bundle) and hand its URL to init.
import wasmUrl from "imlogin/imlogin_bg.wasm";
import { run } from "./app.js";

run(init, LoginManager, { module_or_path: new URL(wasmUrl, import.meta.url) });
