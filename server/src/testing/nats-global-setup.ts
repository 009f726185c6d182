import type { TestProject } from "vitest/node";
import { NatsCluster, natsUnavailable } from "./nats-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `nats://…` URLs of the run's shared 3-node JetStream cluster; "" when nats-server is missing. */
    natsUrl: string;
  }
}

/**
 * One 3-node NATS JetStream cluster (R3 streams) for the whole test run: starting it is
 * the slow part, so the files that need one share it, each test on streams of its own.
 * Tests that kill nodes start clusters of their own. Stopped (and its directory removed)
 * when the run ends.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (natsUnavailable()) {
    project.provide("natsUrl", "");
    return undefined;
  }
  const cluster = await NatsCluster.start(3);
  project.provide("natsUrl", cluster.url);
  return () => cluster.stop();
}
