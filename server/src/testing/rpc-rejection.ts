import { omaErrorInfo, type OmaErrorInfo } from "@oma/client";

/** The OMA error detail of a call that must fail; throws if it succeeds or fails otherwise. */
export async function rpcRejection(p: Promise<unknown>): Promise<OmaErrorInfo> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  const info = omaErrorInfo(err);
  if (!info) throw new Error(`expected an RPC error, got ${String(err)}`);
  return info;
}
