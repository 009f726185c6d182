import type { GitRepository } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { invalidField } from "../errors/oma-error.js";
import { requireId } from "../rpc/field-rules.js";

/** A repository of a recipe, validated, with its defaults applied. */
export interface ResolvedRepository {
  /** Normalised upstream URL, without a trailing slash. */
  readonly url: string;
  readonly branch: string;
  /** Relative to the workspace. */
  readonly path: string;
  /** "" when the repository needs no credential. */
  readonly credentialId: string;
}

/** Bounds of `SandboxResources.repositories` (sandbox.proto states the same). */
export const repositoryBounds = { maxRepositories: 16, maxUrlBytes: 2048, maxBranchBytes: 255, maxPathBytes: 255 } as const;

/** A branch or tag name git accepts (a subset of git-check-ref-format). */
const REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/+-]+(?<![/.])(?<!\.lock)$/;

/** Validates `SandboxResources.repositories` (INVALID_FIELD naming the field) and fills in defaults. */
export function resolveRepositories(repos: readonly GitRepository[], listField = "resources.repositories"): ResolvedRepository[] {
  if (repos.length > repositoryBounds.maxRepositories) {
    throw invalidField(listField, "max_items", `at most ${repositoryBounds.maxRepositories} repositories`, { limit: repositoryBounds.maxRepositories });
  }
  const paths = new Set<string>();
  return repos.map((r, i) => {
    const field = `${listField}[${i}]`;
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      throw invalidField(`${field}.url`, r.url === "" ? "required" : "url_grammar", "must be an http or https URL (git's smart HTTP protocol)");
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash || Buffer.byteLength(r.url) > repositoryBounds.maxUrlBytes) {
      throw invalidField(`${field}.url`, "url_grammar", `must be an http or https URL of at most ${repositoryBounds.maxUrlBytes} bytes, without user info, query or fragment (credentials go in the vault)`);
    }
    const normalized = url.href.replace(/\/+$/, "");
    const branch = r.branch;
    if (branch !== "" && (Buffer.byteLength(branch) > repositoryBounds.maxBranchBytes || !REF.test(branch))) {
      throw invalidField(`${field}.branch`, "ref_grammar", "must be a branch or tag name git accepts");
    }
    const path = r.path || (url.pathname.split("/").filter(Boolean).at(-1) ?? "").replace(/\.git$/, "");
    if (path === "" || path.startsWith("/") || path.split("/").some((p) => p === ".." || p === "." || p === "") || path.includes("\0") || Buffer.byteLength(path) > repositoryBounds.maxPathBytes) {
      throw invalidField(`${field}.path`, "relative_path", "must be relative to the workspace, without .. (the URL names no directory to default to)");
    }
    if (paths.has(path)) throw invalidField(`${field}.path`, "unique", `another repository is cloned into ${path}`);
    paths.add(path);
    const credentialId = r.credentialId === "" ? "" : requireId(r.credentialId, `${field}.credential_id`);
    return { url: normalized, branch, path, credentialId };
  });
}
