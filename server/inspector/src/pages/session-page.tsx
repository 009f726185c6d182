import type { OmaClient } from "@oma/client";
import type { Event } from "@oma/client/gen/oma/v1/event_pb.js";
import type { Harness } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { Sandbox } from "@oma/client/gen/oma/v1/sandbox_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { SandboxStateBadge, Problem, StatusBadge } from "../components/status.js";
import { clockOf } from "../format.js";
import { TimelineBuilder, type Timeline } from "../timeline/build-timeline.js";
import { BrainTable, Diagnosis, TimelineView } from "../timeline/timeline-view.js";

/** Events read per GetEvents call while loading the history (the protocol's page maximum). */
const HISTORY_PAGE = 1000;

interface Live {
  readonly session?: Session;
  readonly harnesses: readonly Harness[];
  readonly sandboxes: readonly Sandbox[];
}

/**
 * One session, live: its log as a timeline, the brains that held it, its sandboxes, and
 * what went wrong. The history is read in pages of GetEvents and laid out once; then
 * WatchEvents from its head draws every new event as it comes.
 */
export function SessionPage(props: { client: OmaClient; sessionId: string }) {
  const { client, sessionId } = props;
  const [timeline, setTimeline] = useState<{ t: Timeline; version: number } | undefined>();
  const [loaded, setLoaded] = useState(0);
  const [live, setLive] = useState<Live>({ harnesses: [], sandboxes: [] });
  const [problem, setProblem] = useState("");

  useEffect(() => {
    const abort = new AbortController();
    const builder = new TimelineBuilder();
    let version = 0;
    let frame = 0;
    let refreshTimer: ReturnType<typeof setTimeout> | undefined;
    setTimeline(undefined);
    setProblem("");
    const draw = () => {
      frame = 0;
      setTimeline({ t: builder.snapshot(), version: ++version });
    };
    const refresh = () => {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => {
        Promise.all([
          client.sessions.getSession({ sessionId }, { signal: abort.signal }),
          client.harness.listHarnesses({ sessionId, pageSize: 100 }, { signal: abort.signal }),
          client.sandboxes.listSandboxes({ sessionId, pageSize: 100 }, { signal: abort.signal }),
        ]).then(
          ([s, h, b]) => setLive({ session: s.session, harnesses: h.harnesses, sandboxes: b.sandboxes }),
          (err: unknown) => abort.signal.aborted || setProblem(describeError(err)),
        );
      }, 100);
    };
    // The session first: a wrong id or another tenant's session says so at once.
    client.sessions.getSession({ sessionId }, { signal: abort.signal }).then(
      () => refresh(),
      (err: unknown) => abort.signal.aborted || setProblem(describeError(err)),
    );
    void (async () => {
      try {
        // The history in pages of GetEvents (a few large messages; after the first, the
        // rest at once), then the live tail.
        const first = await client.sessions.getEvents({ sessionId, limit: HISTORY_PAGE }, { signal: abort.signal });
        builder.add(first.events);
        setLoaded(builder.counts.events);
        const head = first.headSeq;
        const rest: Promise<Event[]>[] = [];
        for (let after = BigInt(HISTORY_PAGE); first.events.length === HISTORY_PAGE && after < head; after += BigInt(HISTORY_PAGE)) {
          rest.push(client.sessions.getEvents({ sessionId, afterSeq: after, limit: HISTORY_PAGE }, { signal: abort.signal }).then((r) => r.events));
        }
        for (const page of await Promise.all(rest)) builder.add(page);
        // Whatever came after the head the first page reported, the watch brings.
        const after = BigInt(builder.headSeq);
        draw();
        for await (const event of client.sessions.watch(sessionId, { signal: abort.signal, afterSeq: after })) {
          builder.add([event]);
          const c = event.payload.case;
          if (c === "statusChanged" || c === "harnessStarted" || c === "sandboxProvisioned") refresh();
          frame ||= requestAnimationFrame(draw);
        }
      } catch (err) {
        if (!abort.signal.aborted) setProblem(describeError(err));
      }
    })();
    // Lease expiry and sandbox state change without an event: look again now and then.
    const poll = setInterval(refresh, 5000);
    return () => {
      abort.abort();
      clearInterval(poll);
      clearTimeout(refreshTimer);
      cancelAnimationFrame(frame);
    };
  }, [client, sessionId]);

  const s = live.session;
  return (
    <section class="session">
      <h2>
        Session <code>{sessionId}</code> {s ? <StatusBadge status={s.status} /> : null}
      </h2>
      {problem ? <Problem text={problem} /> : null}
      {s ? (
        <dl class="facts">
          <dt>Head seq</dt><dd data-fact="head-seq">{String(s.headSeq)}</dd>
          <dt>Model</dt><dd>{s.agent?.model}</dd>
          <dt>Lease</dt>
          <dd data-fact="lease">{s.lease ? `epoch ${s.lease.epoch}, held by ${s.lease.holder} until ${clockOf(s.lease.expireTime)}` : "none"}</dd>
          <dt>Labels</dt><dd>{Object.entries(s.labels).map(([k, v]) => <span class="label">{k}={v}</span>)}</dd>
          <dt>Created</dt><dd>{clockOf(s.createTime)}</dd>
          <dt>Last activity</dt><dd>{clockOf(s.updateTime)}</dd>
        </dl>
      ) : null}
      {timeline ? (
        <>
          <Diagnosis timeline={timeline.t} />
          <BrainTable timeline={timeline.t} session={s} live={live.harnesses} />
          {live.sandboxes.length > 0 ? (
            <table class="sandboxes">
              <caption>Sandboxes</caption>
              <thead><tr><th>Sandbox</th><th>Backend</th><th>State</th><th>Since</th><th>Expires</th></tr></thead>
              <tbody>
                {live.sandboxes.map((b) => (
                  <tr data-sandbox={b.sandboxId}><td><code>{b.sandboxId}</code></td><td>{b.backend}</td><td><SandboxStateBadge state={b.state} /> {b.stateDetail}</td><td>{clockOf(b.createTime)}</td><td>{clockOf(b.expireTime)}</td></tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <TimelineView timeline={timeline.t} version={timeline.version} />
        </>
      ) : problem ? null : (
        <p class="loading">Reading the log… {loaded ? `${loaded} events` : ""}</p>
      )}
    </section>
  );
}
