/**
 * An OTLP/HTTP endpoint that takes every export and throws it away, in a process of its
 * own, as a collector would be: receiving the exports then costs nothing to the processes
 * a bench measures (in the bench's own process it would slow its load generator, and so
 * the traced server's figure).
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

export interface OtlpSink {
  readonly endpoint: string;
  /** How many exports it has received so far. */
  exports(): Promise<number>;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const [{ port }] = (await once(child, "message")) as [{ port: number }];
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async exports() {
      child.send("count");
      const [{ exports }] = (await once(child, "message")) as [{ exports: number }];
      return exports;
    },
    async close() {
      const exited = once(child, "exit");
      child.kill();
      await exited;
    },
  };
}

if (process.argv[2] === "--serve") {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on("message", () => process.send!({ exports }));
  process.on("disconnect", () => process.exit(0));
}
