#!/usr/bin/env node
// The `oma` command. A committed shim so npm can link it before the first build.
import("../dist/cli/main.js").catch((err) => {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli/main.js")) {
    console.error("oma: the server is not built yet; run `npm run build` (or `npm start`) in the repository first");
    process.exit(1);
  }
  throw err;
});
