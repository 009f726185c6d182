import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SessionStatus, StopReason, type Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { InvalidArgumentError, type Command } from "commander";
import { createColors } from "picocolors";
import { formatEventLine } from "./event-line.js";
import { parseCount } from "./serve-options.js";
import { connect, describeFailure, withConnectionOptions, type ConnectionFlags } from "./connection.js";

/** Events fetched per GetEvents call when printing a log. */
const PAGE = 500;

const sessionClient = (flags: ConnectionFlags) => connect(flags).sessions;
const color = () => process.stdout.isTTY === true;

function parseLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`labels are key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function parseStatus(value: string): SessionStatus {
  const status = SessionStatus[value.toUpperCase() as keyof typeof SessionStatus];
  if (status === undefined || status === SessionStatus.UNSPECIFIED) throw new InvalidArgumentError("status is idle, running, rescheduling or terminated");
  return status;
}

/** Runs an action; RPC failures become one line on stderr and exit status 1. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`error: ${describeFailure(err)}\n`);
      process.exitCode = 1;
    }
  };
}

const statusName = (s: SessionStatus) => (SessionStatus[s] ?? String(s)).toLowerCase();
const when = (s: Session) => (s.createTime ? timestampDate(s.createTime).toISOString() : "");

/** `oma sessions list|show` and `oma events`: read sessions over the public API. */
export function registerSessionsCommands(program: Command): void {
  const sessions = program.command("sessions").description("list and inspect sessions");

  withConnectionOptions(sessions
    .command("list"))
    .description("list sessions, newest first")
    .option("--status <status>", "only sessions with this status", parseStatus)
    .option("-l, --label <key=value>", "only sessions with this label (repeatable)", parseLabel)
    .option("-n, --limit <n>", "most sessions to print", parseCount, 50)
    .action(
      action(async (flags: ConnectionFlags & { status?: SessionStatus; label?: Record<string, string>; limit: number }) => {
        const client = sessionClient(flags);
        const c = createColors(color());
        let printed = 0;
        let pageToken = "";
        // A page size of 0 would mean the server's default, so --limit 0 asks for nothing.
        if (flags.limit > 0) do {
          const res = await client.listSessions({ pageSize: Math.min(flags.limit - printed, 1000), pageToken, status: flags.status, labels: flags.label ?? {} });
          for (const s of res.sessions) {
            const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",");
            process.stdout.write(`${s.sessionId}  ${c.yellow(statusName(s.status).padEnd(12))} head=${String(s.headSeq).padEnd(6)} ${c.dim(when(s))}${labels ? `  ${labels}` : ""}\n`);
            printed++;
          }
          pageToken = res.nextPageToken;
        } while (pageToken !== "" && printed < flags.limit);
        if (printed === 0) process.stderr.write("no sessions\n");
      }),
    );

  withConnectionOptions(sessions
    .command("show"))
    .description("show one session: status, head, lease, agent")
    .argument("<id>", "session id")
    .action(
      action(async (id: string, flags: ConnectionFlags) => {
        const s = (await sessionClient(flags).getSession({ sessionId: id })).session!;
        const c = createColors(color());
        const rows: [string, string][] = [
          ["id", s.sessionId],
          ["status", `${statusName(s.status)}${s.stopReason ? ` (${(StopReason[s.stopReason] ?? "").toLowerCase()})` : ""}`],
          ["head_seq", String(s.headSeq)],
          ["created", when(s)],
          ["updated", s.updateTime ? timestampDate(s.updateTime).toISOString() : ""],
          ["lease", s.lease ? `epoch ${s.lease.epoch} held by ${s.lease.holder} until ${timestampDate(s.lease.expireTime!).toISOString()}` : "none"],
          ["model", s.agent?.model ?? ""],
          ["tools", (s.agent?.tools ?? []).map((t) => t.name).join(", ") || "(all sandbox tools)"],
          ["labels", Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ")],
        ];
        for (const [k, v] of rows) process.stdout.write(`${c.dim(k.padEnd(9))} ${v}\n`);
      }),
    );

  withConnectionOptions(program
    .command("events"))
    .description("print a session's events, one a line; --follow keeps printing new ones")
    .argument("<id>", "session id")
    .option("--after <seq>", "start after this seq", parseCount, 0)
    .option("-f, --follow", "after the log, wait for new events (Ctrl-C to stop)")
    .action(
      action(async (id: string, flags: ConnectionFlags & { after: number; follow?: boolean }) => {
        const client = sessionClient(flags);
        const print = (e: Parameters<typeof formatEventLine>[0]) => process.stdout.write(`${formatEventLine(e, { color: color() })}\n`);
        let last = flags.after;
        if (!flags.follow) {
          for (;;) {
            const page = await client.getEvents({ sessionId: id, afterSeq: BigInt(last), limit: PAGE });
            page.events.forEach(print);
            last = Number(page.events.at(-1)?.seq ?? last);
            if (page.events.length < PAGE) return;
          }
        }
        const abort = new AbortController();
        process.once("SIGINT", () => abort.abort());
        // The SDK's watch resumes after the last seq printed across reconnects and WATCHER_TOO_SLOW.
        for await (const event of client.watch(id, { afterSeq: last, signal: abort.signal })) print(event);
      }),
    );
}
