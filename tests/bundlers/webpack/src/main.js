import init, { LoginManager } from "imlogin";
import { run } from "./app.js";

// The glue finds imlogin_bg.wasm through new URL(…, import.meta.url).
run(init, LoginManager);
