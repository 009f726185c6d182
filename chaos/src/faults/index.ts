import type { FaultKind } from "../config.js";
import { diskFull } from "./disk-faults.js";
import type { Fault } from "./fault.js";
import { modelErrors } from "./model-faults.js";
import { cutWorker, dropWatches } from "./network-faults.js";
import { killServer, killWorker, pauseServer, pauseWorker } from "./process-faults.js";
import { killSandbox } from "./sandbox-faults.js";

export const faults: Readonly<Record<FaultKind, Fault>> = {
  "kill-worker": killWorker,
  "pause-worker": pauseWorker,
  "kill-server": killServer,
  "pause-server": pauseServer,
  "kill-sandbox": killSandbox,
  "drop-watches": dropWatches,
  "model-errors": modelErrors,
  "cut-worker": cutWorker,
  "disk-full": diskFull,
};
