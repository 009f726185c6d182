// A broken variant served as a process of its own, so the suite can SIGKILL it (the
// defects only a kill -9 shows): `vite-node variant-process.ts <variant name> <data dir>
// <port> <storage delay ms>`. Prints `OMA_LISTENING <url>` when ready, as a target does.
import { brokenVariants, harnessVariants } from "./broken-variants.js";
import { open } from "./variant-server.js";

const [name = "", dataDir = "", port = "0", delay = "0"] = process.argv.slice(2);
const variant = [...brokenVariants, ...harnessVariants].find((v) => v.name === name);
if (!variant) {
  process.stderr.write(`variant-process: no broken variant named ${JSON.stringify(name)}\n`);
  process.exit(2);
}
const server = await open(dataDir, Number(port), variant, { storageDelayMs: Number(delay), ...(variant.needsSandbox ? { sandboxBackend: "bubblewrap" } : {}) });
process.stdout.write(`OMA_LISTENING ${server.url}\n`);
