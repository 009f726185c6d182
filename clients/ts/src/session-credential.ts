import type { Interceptor } from "@connectrpc/connect";
import type { RenewLeaseResponse } from "./gen/oma/v1/session_service_pb.js";

/**
 * The bearer token a brain works with on one session (SEC-4): the session token of its
 * assignment, replaced by the fresh one every RenewLease returns, so the credential lives
 * exactly as long as the brain keeps its lease. Use `token` and `interceptor` together:
 *
 *   const cred = new SessionCredential(assignment.sessionToken);
 *   const oma = createOmaClient({ baseUrl, token: () => cred.token, interceptors: [cred.interceptor] });
 */
export class SessionCredential {
  #current: string;

  constructor(initial: string) {
    this.#current = initial;
  }

  /** The newest session token. */
  get token(): string {
    return this.#current;
  }

  /** Takes the fresh session token out of each RenewLease response. */
  readonly interceptor: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (!res.stream && req.method.name === "RenewLease") {
      const fresh = (res.message as RenewLeaseResponse).sessionToken;
      if (fresh) this.#current = fresh;
    }
    return res;
  };
}
