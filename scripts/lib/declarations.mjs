// Finishes the TypeScript declarations that wasm-bindgen writes into pkg/
// (run by scripts/build.sh after wasm-bindgen):
//
// 1. wasm-bindgen declares `[Symbol.dispose](): void;` in every class. An app
//    whose TypeScript library has no `Symbol.dispose` (target ES2022 or older
//    with the default libs) then fails inside imlogin.d.ts with TS2550 unless
//    it sets skipLibCheck. The member is replaced by an interface that adds
//    `[Symbol.dispose]` only where the app's library declares
//    `SymbolConstructor.dispose`, so `using` keeps working where it can.
//    (The glue itself sets it only `if (Symbol.dispose)`.)
// 2. `imlogin/imlogin_bg.wasm` is exported for bundlers that import the
//    module's URL (esbuild's file loader, webpack's asset modules): its
//    declaration says so (a string URL) rather than describing the raw wasm
//    exports, which no app imports.
//
// Usage: node scripts/lib/declarations.mjs pkg
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/lib/declarations.mjs <pkg dir>");
  process.exit(2);
}

const dtsPath = join(dir, "imlogin.d.ts");
let dts = readFileSync(dtsPath, "utf8");
const disposeMember = /^ {4}\[Symbol\.dispose\]\(\): void;\n/gm;
const classes = [...dts.matchAll(/^export class (\w+) \{\n(?: {4}.*\n)*? {4}\[Symbol\.dispose\]\(\): void;\n/gm)].map(
  (m) => m[1],
);
const members = dts.match(disposeMember)?.length ?? 0;
if (members === 0 || members !== classes.length) {
  // wasm-bindgen changed its output: fail rather than ship declarations
  // that break apps without skipLibCheck.
  console.error(
    `${dtsPath}: expected one '[Symbol.dispose](): void;' per class, found ${members} in ${classes.length} classes`,
  );
  process.exit(1);
}
dts = dts.replace(disposeMember, "");
dts += `
/**
 * The \`Symbol.dispose\` of the app's TypeScript library, or \`never\` where
 * the library has none (targets before ESNext without lib
 * \`esnext.disposable\`).
 */
type DisposeSymbol = SymbolConstructor extends { readonly dispose: infer S extends symbol } ? S : never;

/**
 * \`[Symbol.dispose]()\`, the same as \`free()\`, where the app's library has
 * \`Symbol.dispose\`: \`using im = new LoginManager(options)\` frees the
 * manager at the end of the block.
 */
export type MaybeDisposable = { [K in DisposeSymbol]: () => void };
`;
for (const name of classes) {
  dts += `\nexport interface ${name} extends MaybeDisposable {}\n`;
}
writeFileSync(dtsPath, dts);

writeFileSync(
  join(dir, "imlogin_bg.wasm.d.ts"),
  `/**
 * The URL of imlogin's WebAssembly module, as a bundler's file or asset
 * loader gives it (esbuild \`--loader:.wasm=file\`, webpack asset modules):
 * pass it to \`init({ module_or_path })\`.
 */
declare const wasmUrl: string;
export default wasmUrl;
`,
);
console.log(`declarations: [Symbol.dispose] made conditional in ${classes.join(", ")}; imlogin_bg.wasm.d.ts declares its URL`);
