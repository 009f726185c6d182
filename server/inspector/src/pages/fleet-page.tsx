import type { OmaClient } from "@oma/client";
import type { Harness } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Problem, SandboxStateBadge } from "../components/status.js";
import { clockOf } from "../format.js";
import { follow, sessionPath } from "../router.js";

/** Every page of a List RPC, up to `max` items. */
async function all<T>(page: (token: string) => Promise<{ items: T[]; next: string }>, max = 2000): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const p = await page(token);
    out.push(...p.items);
    token = p.next;
  } while (token && out.length < max);
  return out;
}

/** Who is alive: live brains (worker, since when) and sandboxes (backend, state, since when). */
export function FleetPage(props: { client: OmaClient }) {
  const { client } = props;
  const [fleet, setFleet] = useState<{ harnesses: Harness[]; sandboxes: Sandbox[] } | undefined>();
  const [problem, setProblem] = useState("");
  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all([
        all((pageToken) => client.harness.listHarnesses({ pageSize: 1000, pageToken }).then((r) => ({ items: r.harnesses, next: r.nextPageToken }))),
        all((pageToken) => client.sandboxes.listSandboxes({ pageSize: 1000, pageToken }).then((r) => ({ items: r.sandboxes, next: r.nextPageToken }))),
      ]).then(
        ([harnesses, sandboxes]) => {
          if (!live) return;
          setFleet({ harnesses, sandboxes });
          setProblem("");
        },
        (err: unknown) => live && setProblem(describeError(err)),
      );
    void load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client]);
  return (
    <section>
      <h2>Brains and sandboxes</h2>
      {problem ? <Problem text={problem} /> : null}
      {fleet ? (
        <>
          <table class="harnesses">
            <caption>Live brains ({fleet.harnesses.length})</caption>
            <thead><tr><th>Brain</th><th>Session</th><th>Worker</th><th class="num">Epoch</th><th>Since</th><th>Lease expires</th></tr></thead>
            <tbody>
              {fleet.harnesses.map((h) => (
                <tr data-brain={h.harnessId}>
                  <td><code>{h.harnessId}</code></td>
                  <td><a href={sessionPath(h.sessionId)} onClick={follow}>{h.sessionId}</a></td>
                  <td>{h.workerId || "waiting for a worker"}</td>
                  <td class="num">{String(h.leaseEpoch)}</td>
                  <td>{clockOf(h.startTime)}</td>
                  <td>{clockOf(h.expireTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="sandboxes">
            <caption>Sandboxes ({fleet.sandboxes.length})</caption>
            <thead><tr><th>Sandbox</th><th>Backend</th><th>State</th><th>Session</th><th>Since</th><th>Expires</th></tr></thead>
            <tbody>
              {fleet.sandboxes.map((s) => (
                <tr data-sandbox={s.sandboxId}>
                  <td><code>{s.sandboxId}</code></td>
                  <td>{s.backend}</td>
                  <td><SandboxStateBadge state={s.state} /> {s.stateDetail}</td>
                  <td>{s.sessionId ? <a href={sessionPath(s.sessionId)} onClick={follow}>{s.sessionId}</a> : ""}</td>
                  <td>{clockOf(s.createTime)}</td>
                  <td>{clockOf(s.expireTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : problem ? null : (
        <p class="loading">Loading…</p>
      )}
    </section>
  );
}
