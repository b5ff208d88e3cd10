// Nothing imlogin-specific: webpack 5 emits imlogin_bg.wasm as an asset by
// itself (new URL(…, import.meta.url) in the glue).
export default {
  mode: "production",
  entry: "./src/main.js",
  output: { filename: "main.js", path: new URL("./dist/", import.meta.url).pathname, clean: true },
};
