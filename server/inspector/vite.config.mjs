import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The inspector's bundle: built by the build step (scripts/build-inspector.mjs) into the
// server package's dist/, served by `oma serve` from there; nothing is fetched at run time.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  // Preact's automatic JSX runtime, through esbuild: no plugin needed.
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: fileURLToPath(new URL("../dist/inspector", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    reportCompressedSize: false,
  },
});
