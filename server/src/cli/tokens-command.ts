import { timestampDate } from "@bufbuild/protobuf/wkt";
import { TokenRole, type Token } from "@oma/client/gen/oma/v1/token_pb.js";
import { InvalidArgumentError, type Command } from "commander";
import { createColors } from "picocolors";
import { connect, describeFailure, withConnectionOptions, type ConnectionFlags } from "./connection.js";

const roles: Readonly<Record<string, TokenRole>> = { client: TokenRole.CLIENT, worker: TokenRole.WORKER, admin: TokenRole.ADMIN };
const roleName = (r: TokenRole) => (TokenRole[r] ?? String(r)).toLowerCase();

function parseRole(value: string): TokenRole {
  const role = roles[value];
  if (role === undefined) throw new InvalidArgumentError("role is client, worker or admin");
  return role;
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    process.stderr.write(`oma tokens: ${describeFailure(err)}\n`);
    process.exitCode = 1;
  }
}

function line(t: Token, color: boolean): string {
  const c = createColors(color);
  const created = t.createTime ? timestampDate(t.createTime).toISOString() : "";
  const state = t.revokeTime ? c.red(`revoked ${timestampDate(t.revokeTime).toISOString()}`) : c.green("valid");
  return `${t.tokenId}  ${roleName(t.role).padEnd(6)}  ${t.tenant.padEnd(16)}  ${c.dim(created)}  ${state}${t.description ? `  ${t.description}` : ""}`;
}

/** `oma tokens create|list|revoke`: manage bearer tokens (needs an admin token). */
export function registerTokensCommand(program: Command): void {
  const tokens = program.command("tokens").description("create, list and revoke bearer tokens (with an admin token)");

  withConnectionOptions(tokens.command("create"), { tenant: false })
    .description("create a token; prints its description, then the token alone on the last line of stdout")
    .requiredOption("--tenant <tenant>", 'the tenant it acts in ("*" for a worker pool token)')
    .requiredOption("--role <role>", "client, worker or admin", parseRole)
    .option("--description <text>", "what it is for", "")
    .action((flags: ConnectionFlags & { role: TokenRole; description: string }) =>
      run(async () => {
        // --tenant names the new token's tenant here, not the tenant the caller acts in.
        const res = await connect({ ...flags, tenant: undefined }, { ...process.env, OMA_TENANT: undefined }).tokens.createToken({ tenant: flags.tenant ?? "", role: flags.role, description: flags.description });
        process.stdout.write(`${line(res.token!, process.stdout.isTTY === true)}\n${res.bearerToken}\n`);
      }),
    );

  withConnectionOptions(tokens.command("list"), { tenant: false })
    .description("list tokens (never their secrets)")
    .option("--tenant <tenant>", 'only tokens of this tenant ("*" for pool tokens)')
    .action((flags: ConnectionFlags) =>
      run(async () => {
        const client = connect({ ...flags, tenant: undefined }, { ...process.env, OMA_TENANT: undefined }).tokens;
        let pageToken = "";
        let printed = 0;
        do {
          const res = await client.listTokens({ pageSize: 1000, pageToken, tenant: flags.tenant ?? "" });
          for (const t of res.tokens) process.stdout.write(`${line(t, process.stdout.isTTY === true)}\n`);
          printed += res.tokens.length;
          pageToken = res.nextPageToken;
        } while (pageToken !== "");
        if (printed === 0) process.stderr.write("no tokens\n");
      }),
    );

  withConnectionOptions(tokens.command("revoke"), { tenant: false })
    .description("revoke a token at once (its open streams end too)")
    .argument("<id>", "token id (tok_…)")
    .action((id: string, flags: ConnectionFlags) =>
      run(async () => {
        const res = await connect({ ...flags, tenant: undefined }, { ...process.env, OMA_TENANT: undefined }).tokens.revokeToken({ tokenId: id });
        process.stdout.write(`${line(res.token!, process.stdout.isTTY === true)}\n`);
      }),
    );
}
