#!/usr/bin/env node
// The `oma-conformance` command. A committed shim so npm can link it before the first build.
import("../dist/src/cli.js").catch((err) => {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/src/cli.js")) {
    console.error("oma-conformance: the suite is not built yet; run `npm run build` in the repository first");
    process.exit(1);
  }
  throw err;
});
