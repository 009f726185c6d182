import type { Interceptor, StreamResponse } from "@connectrpc/connect";
import { toOmaRpcError } from "./errors.js";

/** A bearer token, or a function that returns the current one (called for every request). */
export type TokenSource = string | (() => string | Promise<string>);

/** Adds `authorization: Bearer <token>` to every request (SEC-4). */
export function bearerAuth(token: TokenSource): Interceptor {
  if (typeof token === "string") {
    const header = `Bearer ${token}`;
    return (next) => (req) => {
      req.header.set("authorization", header);
      return next(req);
    };
  }
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${await token()}`);
    return next(req);
  };
}

/** Names the tenant an admin token acts in, as the `oma-tenant` header (SEC-4). */
export function actAsTenant(tenant: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("oma-tenant", tenant);
    return next(req);
  };
}

/** Turns every RPC error of a call or stream into an OmaRpcError with its reason read out. */
export function omaErrors(): Interceptor {
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw toOmaRpcError(err);
    }
    if (!res.stream) return res;
    return { ...res, message: rethrowAsOma(res.message) } satisfies StreamResponse;
  };
}

async function* rethrowAsOma<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw toOmaRpcError(err);
  }
}
