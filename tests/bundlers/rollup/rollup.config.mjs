import { nodeResolve } from "@rollup/plugin-node-resolve";

// Rollup needs node-resolve for any npm package. It keeps the glue's
// new URL("imlogin_bg.wasm", import.meta.url) as it is, so the build copies
// the module next to the bundle (package.json "build").
export default {
  input: "src/main.js",
  output: { dir: "dist", format: "es" },
  plugins: [nodeResolve()],
};
