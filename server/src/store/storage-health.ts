import { OmaError } from "../errors/oma-error.js";

/** errno codes, and LevelDB's words for them, that mean the data directory has no room left. */
const FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);
const FULL_MESSAGES = /no space left on device|disk quota exceeded/i;

/**
 * Whether the server's storage still takes durable writes. The first durable write that
 * fails (a full disk, an I/O error) marks it failed for good: the write that failed may
 * or may not be on disk once the database is reopened (LevelDB's log writer loses track of
 * its file's end after a short write), so the process acknowledges no more writes. Reads
 * go on; grpc.health.v1 reports NOT_SERVING until a supervisor restarts the server, which
 * reopens the data directory and knows exactly what is on disk.
 */
export class StorageHealth {
  #failure: OmaError | undefined;
  readonly #listeners = new Set<(failure: OmaError) => void>();

  /** The error every write gets once storage failed; undefined while it works. */
  get failure(): OmaError | undefined {
    return this.#failure;
  }

  /**
   * Records a failed durable write and returns the error for its caller and every later
   * writer: STORAGE_FULL for a full filesystem, STORAGE_UNAVAILABLE for anything else.
   */
  failed(cause: unknown): OmaError {
    if (this.#failure) return this.#failure;
    const full = isFull(cause);
    this.#failure = full
      ? new OmaError(
          "STORAGE_FULL",
          "the server's data directory is full: this write was not acknowledged, and the server accepts no write until it is restarted with room on its data directory",
          { cause: "ENOSPC" },
          { cause },
        )
      : new OmaError(
          "STORAGE_UNAVAILABLE",
          "the server's storage failed: this write was not acknowledged, and the server accepts no write until it is restarted",
          { cause: errorCode(cause) },
          { cause },
        );
    for (const listener of this.#listeners) listener(this.#failure);
    return this.#failure;
  }

  /** Called once, when storage fails. */
  onFailure(listener: (failure: OmaError) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Runs one durable write: refused once storage failed; its own failure marks storage failed. */
  async write<T>(write: () => Promise<T>): Promise<T> {
    if (this.#failure) throw this.#failure;
    try {
      return await write();
    } catch (err) {
      throw this.failed(err);
    }
  }
}

function isFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return FULL_CODES.has(String(e?.code)) || FULL_MESSAGES.test(String(e?.message ?? ""));
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^[A-Z_]+$/.test(code) ? code : "UNKNOWN";
}
