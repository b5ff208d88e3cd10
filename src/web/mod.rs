//! Browser driver (wasm32 only): comes with the browser-module issue.
