// Checks the packed npm package (target/npm/imlogin.tgz, from
// scripts/pack.sh) as the registry and its users will see it:
//
//   1. contents: the code, the declarations, the licences, README and
//      CHANGELOG — and nothing else;
//   2. publint on the tarball (warnings count as errors);
//   3. @arethetypeswrong/cli on the tarball (ESM-only profile: the package
//      has no CommonJS entry, by design);
//   4. importing the package in Node (server-side rendering) neither throws
//      nor touches any global, which is what `"sideEffects": false` claims;
//   5. the size budget (size-limit, the "size-limit" entry of package.json,
//      measured on the files inside the tarball), and that the budget check
//      does fail when a package exceeds it.
//
// Usage: node scripts/package-check.mjs target/npm/imlogin.tgz
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const root = resolve(import.meta.dirname, "..");
const tarball = resolve(process.argv[2] ?? "target/npm/imlogin.tgz");
const bin = (name) => join(root, "node_modules/.bin", name);
let failed = false;

function header(text) {
  console.log(`\n==> ${text}`);
}

function fail(text) {
  console.error(`FAILED: ${text}`);
  failed = true;
}

// 1. Contents.
header(`contents of ${tarball}`);
const listing = execFileSync("tar", ["-tvzf", tarball], { encoding: "utf8" })
  .trim()
  .split("\n")
  .map((line) => {
    const cols = line.trim().split(/\s+/);
    return { size: Number(cols[2]), path: cols.slice(5).join(" ").replace(/^package\//, "") };
  });
for (const { size, path } of listing) console.log(`    ${String(size).padStart(8)}  ${path}`);
const required = [
  "package.json",
  "README.md",
  "CHANGELOG.md",
  "LICENSE-MIT",
  "LICENSE-APACHE",
  "pkg/imlogin.js",
  "pkg/imlogin.d.ts",
  "pkg/imlogin_bg.wasm",
  "pkg/imlogin_bg.wasm.d.ts",
];
const paths = listing.map((e) => e.path);
for (const path of required) {
  if (!paths.includes(path)) fail(`the tarball lacks ${path}`);
}
const unexpected = paths.filter((p) => !required.includes(p) && !/^pkg\/snippets\/.+\.js$/.test(p));
if (unexpected.length > 0) fail(`the tarball holds files it should not: ${unexpected.join(", ")}`);
for (const { size, path } of listing) {
  if (size === 0) fail(`${path} is empty`);
}
const tgzBytes = readFileSync(tarball).length;
console.log(`    ${listing.length} files, ${tgzBytes} bytes packed`);

// 2. publint.
header("publint (the tarball; warnings are errors)");
const tarballBytes = readFileSync(tarball);
const pkgJson = JSON.parse(
  execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }),
);
const { messages } = await publint({
  pack: {
    tarball: tarballBytes.buffer.slice(tarballBytes.byteOffset, tarballBytes.byteOffset + tarballBytes.byteLength),
  },
  level: "suggestion",
  strict: true,
});
for (const m of messages) {
  console.log(`    ${m.type}: ${formatMessage(m, pkgJson)}`);
}
if (messages.some((m) => m.type === "error" || m.type === "warning")) {
  fail("publint reported errors or warnings");
} else {
  console.log(`    ok (${messages.length} suggestions)`);
}

// 3. Are the types wrong?
header("attw --profile esm-only (the tarball)");
const attw = spawnSync(bin("attw"), ["--profile", "esm-only", "--format", "table-flipped", tarball], {
  stdio: "inherit",
});
if (attw.status !== 0) fail("@arethetypeswrong/cli found problems");

const unpacked = mkdtempSync(join(tmpdir(), "imlogin-package-"));
try {
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
  const dir = join(unpacked, "package");

  // 4. Import without side effects.
  header("import in Node: no throw, no global touched (SSR, sideEffects: false)");
  const probe = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const names = () => Object.getOwnPropertyNames(globalThis).sort().join(",");
       const before = names();
       const m = await import(${JSON.stringify(join(dir, "pkg/imlogin.js"))});
       if (names() !== before) throw new Error("importing imlogin changed globalThis");
       console.log("    exports:", Object.keys(m).sort().join(", "));`,
    ],
    { encoding: "utf8" },
  );
  process.stdout.write(probe.stdout);
  if (probe.status !== 0) {
    process.stderr.write(probe.stderr);
    fail("importing the package in Node threw or touched a global");
  }
  if (pkgJson.sideEffects !== false) fail('package.json must say "sideEffects": false');

  // 5. Size budget, on the files inside the tarball.
  header("size budget (size-limit on the unpacked tarball)");
  // size-limit loads its plugins from the project's node_modules.
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  const limits = pkgJson["size-limit"];
  if (!Array.isArray(limits) || limits.length === 0) {
    fail('package.json has no "size-limit" budget');
  }
  const run = (config) =>
    spawnSync(bin("size-limit"), config ? ["--config", config] : [], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
  const real = run();
  process.stdout.write(real.stdout.replace(/^/gm, "    "));
  process.stderr.write(real.stderr);
  if (real.status !== 0) fail("the package exceeds its size budget");
  // The budget must be able to fail: the same check with a budget of 1 kB.
  const tight = join(dir, "tight.size-limit.json");
  writeFileSync(tight, JSON.stringify(limits.map((l) => ({ ...l, limit: "1 kB" }))));
  const control = run(tight);
  if (control.status === 0 || !/exceeded/i.test(control.stdout + control.stderr)) {
    process.stdout.write(control.stdout + control.stderr);
    fail("size-limit did not report a 1 kB budget as exceeded: the size check cannot fail");
  } else {
    console.log("    control: a 1 kB budget fails, as it must");
  }
} finally {
  rmSync(unpacked, { recursive: true, force: true });
}

if (failed) process.exit(1);
console.log("\nok: the packed package is complete, lint-clean, correctly typed and within budget");
