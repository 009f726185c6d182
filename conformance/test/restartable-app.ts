import type { RunningApp } from "../../server/src/app.js";

/**
 * An in-process reference server that a conformance run may restart (SESS-5, HARN-27):
 * closed gracefully and opened again on the same data and port, so clients and brains
 * reconnect to the same address. Restarts asked for while one is under way share it. (The
 * CLI's --target-cmd restarts with SIGKILL instead.)
 */
export class RestartableApp {
  #app: RunningApp;
  #restarting: Promise<void> | undefined;
  readonly #open: (port: number) => Promise<RunningApp>;

  private constructor(app: RunningApp, open: (port: number) => Promise<RunningApp>) {
    this.#app = app;
    this.#open = open;
  }

  /** Opens the server on a free port; `open` starts it on a given port, always on the same data. */
  static async start(open: (port: number) => Promise<RunningApp>): Promise<RestartableApp> {
    return new RestartableApp(await open(0), open);
  }

  /** The server running now (a new one after each restart). */
  get app(): RunningApp {
    return this.#app;
  }

  /** A suite's `restartTarget`. */
  readonly restart = (): Promise<void> =>
    (this.#restarting ??= (async () => {
      const port = this.#app.port;
      await this.#app.close();
      this.#app = await this.#open(port);
    })().finally(() => (this.#restarting = undefined)));

  async close(): Promise<void> {
    await this.#restarting?.catch(() => undefined);
    await this.#app.close();
  }
}
