import { defineConfig } from "vitest/config";

/**
 * The conformance runs against whole targets (the reference server over three protocols,
 * the broken variants, the JetStream cluster): each keeps several servers, brain workers
 * and sandboxes busy at once, and their cases bound lease renewals and watcher lag in
 * seconds, so they want the machine to themselves. `npm test` (scripts/test.mjs) runs the
 * project "side-by-side" with one file more than the cores at once, then "alone" one file at a time; a plain
 * `npx vitest run` runs both one file at a time (vitest's default on two cores).
 * Inside an "alone" file up to 10 tests run at once (the broken variants: each waits on
 * the servers, workers and sandboxes it starts far more than it computes).
 */
const ALONE = ["conformance/test/reference.test.ts", "conformance/test/broken-variants.test.ts", "conformance/test/reference-jetstream.test.ts"];

// Tests that start servers use port 0 and unique ids, so files can run side by side; each
// wait inside a test is bounded by its own timeout.
export default defineConfig({
  test: {
    pool: "forks",
    // A NATS JetStream cluster the JetStream store tests share (server/src/testing/nats-global-setup.ts).
    globalSetup: ["server/src/testing/nats-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "side-by-side",
          include: ["clients/ts/src/**/*.test.ts", "server/src/**/*.test.ts", "server/inspector/src/**/*.test.ts", "conformance/{src,test}/**/*.test.ts", "bench/**/*.test.ts", "chaos/src/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", ...ALONE],
        },
      },
      { extends: true, test: { name: "alone", include: ALONE, maxConcurrency: 10 } },
    ],
  },
});
