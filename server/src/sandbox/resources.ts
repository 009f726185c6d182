import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { NetworkMode, SandboxResourcesSchema, SandboxSecuritySchema, type SandboxResources } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { invalidField, OmaError } from "../errors/oma-error.js";
import { knownEnum } from "../rpc/field-rules.js";
import { parseAllowList, type AllowEntry } from "../gateway/egress-allow-list.js";
import { BACKEND_NAMES, type NetworkAccess, type SecuritySwitches } from "./backend.js";
import { resolveRepositories, type ResolvedRepository } from "./repositories.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Defaults and bounds of SandboxResources (the proto comments state the same numbers). */
export const resourceBounds = {
  cpu: { default: 1, max: 64 },
  memoryBytes: { default: 512 * MiB, min: 16 * MiB, max: 64 * GiB },
  pids: { default: 256, max: 32768 },
  diskBytes: { default: 1 * GiB, min: 16 * MiB, max: 1024 * GiB },
  idleTtlMs: { default: 15 * 60_000, min: 1000, max: 24 * 3_600_000 },
  maxEnv: 128,
  maxFiles: 256,
  maxLabels: 64,
  maxImageBytes: 512,
  maxEnvValueBytes: 32 * 1024,
} as const;

/** A recipe with every default applied, as the backend and the stored Sandbox see it. */
export interface ResolvedResources {
  readonly backend: string;
  readonly image: string;
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly diskBytes: number;
  /** "none" for NONE and ALLOW_LIST alike: an allow-listed sandbox reaches out only through its gateway. */
  readonly network: NetworkAccess;
  /** With NETWORK_MODE_ALLOW_LIST: the entries as given, and parsed. */
  readonly allow: readonly string[];
  readonly allowList: readonly AllowEntry[] | undefined;
  readonly repositories: readonly ResolvedRepository[];
  readonly idleTtlMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly files: ReadonlyArray<{ path: string; content: Uint8Array; mode: number }>;
  readonly security: SecuritySwitches;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[a-z0-9._/-]{1,63}$/;

/**
 * Validates a recipe (INVALID_FIELD naming the field under `field`, e.g. "resources" or
 * "agent.sandbox") and fills in every default (SBX-1).
 */
export function resolveResources(r: SandboxResources | undefined, defaultBackend: string, field = "resources"): ResolvedResources {
  const res = r ?? create(SandboxResourcesSchema);
  const b = resourceBounds;
  if (res.backend !== "" && !BACKEND_NAMES.includes(res.backend as never)) {
    throw new OmaError("BACKEND_UNAVAILABLE", `unknown sandbox backend "${res.backend.slice(0, 64)}" (use ${BACKEND_NAMES.join(", ")})`, { backend: res.backend.slice(0, 64), field: `${field}.backend` });
  }
  if (Buffer.byteLength(res.image) > b.maxImageBytes) throw invalidField(`${field}.image`, "max_bytes", `at most ${b.maxImageBytes} bytes`);
  knownEnum(res.network?.mode ?? NetworkMode.UNSPECIFIED, NetworkMode, `${field}.network.mode`);
  if (!Number.isFinite(res.cpu) || res.cpu < 0 || res.cpu > b.cpu.max) throw invalidField(`${field}.cpu`, "range", `must be from 0 to ${b.cpu.max}`);
  const memoryBytes = Number(res.memoryBytes);
  const diskBytes = Number(res.diskBytes);
  if (memoryBytes !== 0 && (memoryBytes < b.memoryBytes.min || memoryBytes > b.memoryBytes.max)) {
    throw invalidField(`${field}.memory_bytes`, "range", `must be 0 or from ${b.memoryBytes.min} to ${b.memoryBytes.max}`);
  }
  if (res.pids < 0 || res.pids > b.pids.max) throw invalidField(`${field}.pids`, "range", `must be from 0 to ${b.pids.max}`);
  if (diskBytes !== 0 && (diskBytes < b.diskBytes.min || diskBytes > b.diskBytes.max)) {
    throw invalidField(`${field}.disk_bytes`, "range", `must be 0 or from ${b.diskBytes.min} to ${b.diskBytes.max}`);
  }
  let idleTtlMs: number = b.idleTtlMs.default;
  if (res.idleTtl) {
    idleTtlMs = Number(res.idleTtl.seconds) * 1000 + Math.floor(res.idleTtl.nanos / 1e6);
    if (idleTtlMs < b.idleTtlMs.min || idleTtlMs > b.idleTtlMs.max) throw invalidField(`${field}.idle_ttl`, "range", `must be from 1 s to 24 h`);
  }
  const envEntries = Object.entries(res.env);
  if (envEntries.length > b.maxEnv) throw invalidField(`${field}.env`, "max_items", `at most ${b.maxEnv} variables`);
  for (const [k, v] of envEntries) {
    if (!ENV_KEY.test(k)) throw invalidField(`${field}.env["${k.slice(0, 64)}"]`, "pattern", "keys match [A-Za-z_][A-Za-z0-9_]*");
    if (Buffer.byteLength(v) > b.maxEnvValueBytes) throw invalidField(`${field}.env["${k}"]`, "max_bytes", `values are at most ${b.maxEnvValueBytes} bytes`);
  }
  if (res.files.length > b.maxFiles) throw invalidField(`${field}.files`, "max_items", `at most ${b.maxFiles} files`);
  res.files.forEach((f, i) => {
    if (f.path === "" || f.path.startsWith("/") || f.path.split("/").includes("..") || f.path.includes("\0")) {
      throw invalidField(`${field}.files[${i}].path`, "relative_path", "must be relative to the workspace, without ..");
    }
    if (f.mode > 0o7777) throw invalidField(`${field}.files[${i}].mode`, "range", "must be Unix permission bits (at most 0o7777)");
  });
  const repositories = resolveRepositories(res.repositories, `${field}.repositories`);
  const mode = res.network?.mode ?? NetworkMode.UNSPECIFIED;
  const allowList = mode === NetworkMode.ALLOW_LIST ? parseAllowList(res.network!.allow, `${field}.network.allow`) : undefined;
  const backend = res.backend || defaultBackend;
  return {
    backend,
    image: res.image,
    cpu: res.cpu || b.cpu.default,
    memoryBytes: memoryBytes || b.memoryBytes.default,
    pids: res.pids || b.pids.default,
    diskBytes: diskBytes || b.diskBytes.default,
    network: mode === NetworkMode.FULL ? "full" : "none",
    allow: allowList ? [...res.network!.allow] : [],
    allowList,
    repositories,
    idleTtlMs,
    env: { ...res.env },
    files: res.files.map((f) => ({ path: f.path, content: f.content, mode: f.mode || 0o644 })),
    security: {
      runAsRoot: res.security?.runAsRoot ?? false,
      writableRoot: res.security?.writableRoot ?? false,
      keepCapabilities: res.security?.keepCapabilities ?? false,
      allowPrivilegeEscalation: res.security?.allowPrivilegeEscalation ?? false,
    },
  };
}

/** The recipe as GetSandbox shows it: defaults filled in, file contents left out. */
export function resourcesMessage(r: ResolvedResources): SandboxResources {
  return create(SandboxResourcesSchema, {
    backend: r.backend,
    image: r.image,
    cpu: r.cpu,
    memoryBytes: BigInt(r.memoryBytes),
    pids: r.pids,
    diskBytes: BigInt(r.diskBytes),
    network: r.allowList ? { mode: NetworkMode.ALLOW_LIST, allow: [...r.allow] } : { mode: r.network === "full" ? NetworkMode.FULL : NetworkMode.NONE },
    repositories: r.repositories.map((g) => ({ url: g.url, branch: g.branch, path: g.path, credentialId: g.credentialId })),
    idleTtl: durationFromMs(r.idleTtlMs),
    env: { ...r.env },
    security: create(SandboxSecuritySchema, { ...r.security }),
  });
}

/** Same rules as Session.labels. */
export function validateLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > resourceBounds.maxLabels) throw invalidField("labels", "max_items", `at most ${resourceBounds.maxLabels} labels`);
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k)) throw invalidField(`labels["${k}"]`, "pattern", "keys are 1-63 bytes of [a-z0-9._/-]");
    if (Buffer.byteLength(v) > 256) throw invalidField(`labels["${k}"]`, "max_bytes", "values are at most 256 bytes");
  }
}
