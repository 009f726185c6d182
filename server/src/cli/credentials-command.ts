import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Credential, CredentialSchema } from "@oma/client/gen/oma/v1/credential_pb.js";
import type { Command } from "commander";
import { createColors } from "picocolors";
import { connect, describeFailure, withConnectionOptions, type ConnectionFlags } from "./connection.js";

interface KindFlags {
  gitHost?: string;
  username?: string;
  bearerUrlPrefix?: string;
  displayName?: string;
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    process.stderr.write(`oma credentials: ${describeFailure(err)}\n`);
    process.exitCode = 1;
  }
}

/** The secret, read from stdin so that it is in no argument list, shell history or environment. */
async function readSecret(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("paste the secret, then press Ctrl-D\n");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

async function credentialOf(id: string, flags: KindFlags): Promise<MessageInitShape<typeof CredentialSchema>> {
  if ((flags.gitHost === undefined) === (flags.bearerUrlPrefix === undefined)) throw new Error("give exactly one of --git-host or --bearer-url-prefix");
  const token = await readSecret();
  const kind =
    flags.gitHost !== undefined
      ? ({ case: "gitToken", value: { host: flags.gitHost, username: flags.username ?? "", token } } as const)
      : ({ case: "bearer", value: { urlPrefix: flags.bearerUrlPrefix!, token } } as const);
  return { credentialId: id, displayName: flags.displayName ?? "", kind };
}

function line(c: Credential, color: boolean): string {
  const p = createColors(color);
  const target = c.kind.case === "gitToken" ? `git ${c.kind.value.username}@${c.kind.value.host}` : c.kind.case === "bearer" ? `bearer ${c.kind.value.urlPrefix}` : "?";
  const updated = c.updateTime ? timestampDate(c.updateTime).toISOString() : "";
  return `${c.credentialId}  ${target}  ${p.dim(updated)}${c.displayName ? `  ${c.displayName}` : ""}`;
}

const kindOptions = (command: Command) =>
  command
    .option("--git-host <host>", "a git token for this host (host[:port]), sent as HTTP basic auth")
    .option("--username <name>", "with --git-host: the user name sent with the token (default x-access-token)")
    .option("--bearer-url-prefix <url>", "a bearer token for URLs under this prefix (an MCP server, an HTTP API)")
    .option("--display-name <text>", "for people");

/** `oma credentials create|list|update|delete`: the tenant's vault (SEC-11); secrets come from stdin and never come back. */
export function registerCredentialsCommand(program: Command): void {
  const credentials = program.command("credentials").description("keep credentials in the server's vault: secrets go in from stdin and never come out");

  kindOptions(withConnectionOptions(credentials.command("create")))
    .description("store a credential; the secret is read from stdin (printf %s \"$TOKEN\" | oma credentials create …)")
    .option("--id <id>", "its id (default: one the server picks)")
    .action((flags: ConnectionFlags & KindFlags & { id?: string }) =>
      run(async () => {
        const res = await connect(flags).vault.createCredential({ credential: await credentialOf(flags.id ?? "", flags) });
        process.stdout.write(`${line(res.credential!, process.stdout.isTTY === true)}\n`);
      }),
    );

  kindOptions(withConnectionOptions(credentials.command("update")))
    .description("replace a credential (rotation): takes effect for the next request the proxies forward")
    .argument("<id>", "the credential's id")
    .action((id: string, flags: ConnectionFlags & KindFlags) =>
      run(async () => {
        const res = await connect(flags).vault.updateCredential({ credential: await credentialOf(id, flags) });
        process.stdout.write(`${line(res.credential!, process.stdout.isTTY === true)}\n`);
      }),
    );

  withConnectionOptions(credentials.command("list"))
    .description("list the tenant's credentials (never their secrets)")
    .action((flags: ConnectionFlags) =>
      run(async () => {
        const vault = connect(flags).vault;
        let pageToken = "";
        let printed = 0;
        do {
          const res = await vault.listCredentials({ pageSize: 1000, pageToken });
          for (const c of res.credentials) process.stdout.write(`${line(c, process.stdout.isTTY === true)}\n`);
          printed += res.credentials.length;
          pageToken = res.nextPageToken;
        } while (pageToken !== "");
        if (printed === 0) process.stderr.write("no credentials\n");
      }),
    );

  withConnectionOptions(credentials.command("delete"))
    .description("delete a credential; the proxies refuse every later request that needs it")
    .argument("<id>", "the credential's id")
    .action((id: string, flags: ConnectionFlags) => run(async () => void (await connect(flags).vault.deleteCredential({ credentialId: id }))));
}
