// Finishes the JS glue that wasm-bindgen writes into pkg/ (run by
// scripts/build.sh after wasm-bindgen, before minifying):
//
// 1. The package entry exports `LoginError` and `LoginCode`, which live in
//    the module's own snippet (src/web/api.js, where the Rust side makes
//    its errors with them): re-exported from the glue so that
//    `import { LoginError } from "imlogin"` is the very class the module
//    throws (`instanceof` holds).
// 2. `new LoginManager(options)` before the module is initialised throws
//    an Error that says what to do, instead of the glue's
//    "Cannot read properties of undefined (reading 'loginmanager_new')".
// 3. `LoginManager.create(options, wasm?)` initialises the module once
//    (the glue's `init` shares one load among concurrent callers) and then
//    constructs.
//
// The declarations of 2 and 3 are added by scripts/lib/declarations.mjs.
// Each step fails the build when wasm-bindgen's output no longer has the
// shape it expects, rather than shipping glue without it.
//
// Usage: node scripts/lib/glue.mjs pkg
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/lib/glue.mjs <pkg dir>");
  process.exit(2);
}
const path = join(dir, "imlogin.js");
let glue = readFileSync(path, "utf8");

function fail(what) {
  console.error(`${path}: ${what}: wasm-bindgen's glue changed shape; update scripts/lib/glue.mjs`);
  process.exit(1);
}

function replaceOnce(pattern, replacement, what) {
  const matches = glue.match(new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g"));
  if (!matches || matches.length !== 1) fail(`expected one ${what}, found ${matches?.length ?? 0}`);
  glue = glue.replace(pattern, replacement);
}

// 1. Re-export the snippet's class and codes.
const snippet = glue.match(/^import \{[^}]*\bLoginError\b[^}]*\} from '(\.\/snippets\/[^']+\/src\/web\/api\.js)';$/m);
if (!snippet) fail("no import of LoginError from src/web/api.js");
glue += `\nexport { LoginError, LoginCode } from '${snippet[1]}';\n`;

// 2. A clear error before init.
const notInitialised =
  "imlogin: the WebAssembly module is not initialised. Call `await init()` (the package's default export) " +
  "once before `new LoginManager(options)`, or use `await LoginManager.create(options)`.";
replaceOnce(
  /^( {4}constructor\(options\) \{\n)( {8}const ret = wasm\.loginmanager_new\()/m,
  `$1        if (wasm === undefined) throw new Error(${JSON.stringify(notInitialised)});\n$2`,
  "LoginManager constructor calling wasm.loginmanager_new",
);

// 3. LoginManager.create.
if (!/^async function __wbg_init\(module_or_path\) \{$/m.test(glue)) fail("no __wbg_init(module_or_path)");
replaceOnce(
  /^export class LoginManager \{\n/m,
  `export class LoginManager {
    static async create(options, wasmInput) {
        await __wbg_init(wasmInput);
        return new LoginManager(options);
    }
`,
  "LoginManager class",
);

writeFileSync(path, glue);
console.log("glue: LoginError and LoginCode re-exported; a clear error before init; LoginManager.create");
