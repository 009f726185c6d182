import type { Harness } from "@oma/client/gen/oma/v1/harness_service_pb.js";
import type { Session } from "@oma/client/gen/oma/v1/session_pb.js";
import { memo } from "preact/compat";
import { useEffect, useState } from "preact/hooks";
import { clock, duration, tokens } from "../format.js";
import type { Brain, ModelCall, Timeline, TimelineItem, ToolCall, Turn } from "./build-timeline.js";
import { diagnose } from "./diagnosis.js";

/** Brains listed when a session is opened (besides those whose lease was lost). */
const SHOWN_BRAINS = 20;

/** Turns drawn in full when a session is opened; earlier ones are one line until opened. */
const OPEN_TURNS = 20;

/** Shows the event with this seq: its turn is opened if it was folded, then scrolled to. */
function reveal(seq: number): void {
  dispatchEvent(new CustomEvent("oma:reveal", { detail: seq }));
  requestAnimationFrame(() => document.getElementById(`seq-${seq}`)?.scrollIntoView({ block: "center" }));
}

const jump = (seq: number) => (e: MouseEvent) => {
  e.preventDefault();
  reveal(seq);
};

/** "Harness bug, lost sandbox, model error or dead brain?" at a glance. */
export function Diagnosis(props: { timeline: Timeline }) {
  const findings = diagnose(props.timeline);
  const c = props.timeline.counts;
  return (
    <section class="diagnosis" aria-label="What went wrong">
      <p class="totals">
        {c.events} events · {c.modelCalls} model calls · {c.toolCalls} tool calls · {tokens(c.inputTokens)} in / {tokens(c.outputTokens)} out tokens · {tokens(c.cacheReadTokens)} read from cache
      </p>
      {findings.length === 0 ? (
        <p class="finding ok">Nothing went wrong: no model errors, no lost sandbox, no lost lease, no brain error.</p>
      ) : (
        <ul>
          {findings.map((f) => (
            <li class={`finding ${f.severity}`} data-area={f.area}>
              <span class="area">{f.area}</span> {f.seq ? <a href={`#seq-${f.seq}`} onClick={jump(f.seq)}>{f.text}</a> : f.text}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function brainEnd(b: Brain, session: Session | undefined): string {
  if (!b.end) return session?.lease && Number(session.lease.epoch) === b.epoch ? "holds the lease" : "ended without a record (its lease lapsed)";
  switch (b.end.kind) {
    case "released":
      return `released${b.end.stopReason ? ` (${b.end.stopReason})` : ""}`;
    case "lost":
      return `lease lost (${b.end.why})`;
    case "superseded":
      return "superseded by a successor";
  }
}

/** Each brain that held the lease: epoch, worker, from–to, and how its hold ended. */
export function BrainTable(props: { timeline: Timeline; session: Session | undefined; live: readonly Harness[] }) {
  const [all, setAll] = useState(false);
  const every = props.timeline.brains;
  if (every.length === 0) return null;
  // The last brains, and every one whose hold ended badly; all of them on request.
  const brains = all ? every : every.filter((b, i) => i >= every.length - SHOWN_BRAINS || b.end?.kind === "lost" || b.end?.kind === "superseded");
  const live = new Set(props.live.map((h) => h.harnessId));
  return (
    <table class="brains">
      <caption>
        Brains that held the lease{" "}
        {brains.length < every.length ? (
          <button type="button" class="more" onClick={() => setAll(true)}>
            show all {every.length}
          </button>
        ) : null}
      </caption>
      <thead><tr><th class="num">Epoch</th><th>Brain</th><th>Worker</th><th>From</th><th>To</th><th>How it ended</th></tr></thead>
      <tbody>
        {brains.map((b) => (
          <tr data-brain={b.harnessId} data-end={b.end?.kind ?? (live.has(b.harnessId) ? "live" : "none")} class={b.end?.kind === "lost" || b.end?.kind === "superseded" ? "problem" : ""}>
            <td class="num">{b.epoch}</td>
            <td><code>{b.harnessId}</code>{b.arrival === "rescheduled" ? <span class="tag">rescheduled</span> : null}</td>
            <td>{b.workerId || "?"}</td>
            <td><a href={`#seq-${b.startSeq}`} onClick={jump(b.startSeq)}>{clock(b.startTime)} (seq {b.startSeq})</a></td>
            <td>{b.end ? <a href={`#seq-${b.end.seq}`} onClick={jump(b.end.seq)}>{clock(b.end.time)} (seq {b.end.seq})</a> : "now"}</td>
            <td>{brainEnd(b, props.session)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModelItem(props: { m: ModelCall }) {
  const m = props.m;
  return (
    <div class="item model" id={`seq-${m.seq}`} data-kind="model" data-seq={m.seq}>
      <div class="head">
        <span class="kind">model</span> {m.model} · {duration(m.durationMs)} · in {tokens(m.inputTokens)}
        {m.cacheReadTokens ? ` (cache hit ${tokens(m.cacheReadTokens)})` : ""}
        {m.cacheCreationTokens ? ` (cache write ${tokens(m.cacheCreationTokens)})` : ""} · out {tokens(m.outputTokens)}
        {m.toolCalls ? ` · ${m.toolCalls} tool call${m.toolCalls === 1 ? "" : "s"}` : ""}
        <span class="when">{clock(m.time)} · seq {m.seq}</span>
      </div>
      {m.thinking ? <details class="thinking"><summary>thinking</summary><pre>{m.thinking}</pre></details> : null}
      {m.text ? <pre class="text">{m.text}</pre> : null}
    </div>
  );
}

function ToolItem(props: { t: ToolCall }) {
  const t = props.t;
  const r = t.result;
  const state = !r ? "pending" : r.isError ? "error" : "ok";
  return (
    <div class={`item tool ${state}`} id={`seq-${t.seq}`} data-kind="tool" data-tool={t.name} data-state={state} data-seq={t.seq}>
      <div class="head">
        <span class="kind">tool</span> {t.name}
        {r ? ` · exit ${r.exitCode} · ${duration(r.durationMs)}${r.sandboxId ? ` · ${r.sandboxId}${r.backend ? ` (${r.backend})` : ""}` : ""}` : " · running…"}
        {r?.replayed ? <span class="tag">replayed</span> : null}
        {r?.truncated ? <span class="tag">truncated</span> : null}
        <span class="when">{clock(t.time)} · seq {t.seq}{r ? `–${r.seq}` : ""}</span>
      </div>
      <pre class="input">{JSON.stringify(t.input)}</pre>
      {r ? (
        <details class="output">
          <summary>{r.isError ? "error output" : "output"} ({r.output.length} chars){r.output ? `: ${r.output.split("\n", 1)[0]!.slice(0, 80)}` : ""}</summary>
          <pre>{r.output}</pre>
        </details>
      ) : null}
    </div>
  );
}

function Item(props: { item: TimelineItem }) {
  const i = props.item;
  switch (i.kind) {
    case "model":
      return <ModelItem m={i} />;
    case "tool":
      return <ToolItem t={i} />;
    case "error":
      return (
        <div class={`item error ${i.retryable ? "retried" : "final"}`} id={`seq-${i.seq}`} data-kind="error" data-seq={i.seq}>
          <span class="kind">error</span> {i.code}{i.httpStatus ? ` (HTTP ${i.httpStatus})` : ""}{i.attempt ? `, attempt ${i.attempt}` : ""}: {i.message}
          {i.retryable ? ` — retrying${i.retryAfterMs !== undefined ? ` in ${duration(i.retryAfterMs)}` : ""}` : " — not retried"}
          <span class="when">{clock(i.time)} · seq {i.seq}</span>
        </div>
      );
    default:
      return (
        <div class={`item note ${i.kind} ${i.tone ?? ""}`} id={`seq-${i.seq}`} data-kind={i.kind} data-seq={i.seq}>
          <span class="kind">{i.kind}</span> <span class="text">{i.text}</span>
          <span class="when">{clock(i.time)} · seq {i.seq}</span>
        </div>
      );
  }
}

function turnHeading(t: Turn) {
  return (
    <>
      Turn {t.index + 1} <span class="when">from seq {t.firstSeq}{t.end ? ` to ${t.end.seq}: ${t.end.status}${t.end.stopReason ? ` (${t.end.stopReason})` : ""}` : ", in progress"}</span>
    </>
  );
}

const TurnView = memo(
  function TurnView(props: { turn: Turn; size: number; ended: boolean; version: number; open: boolean; onOpen: (index: number) => void }) {
    const t = props.turn;
    if (!props.open) {
      const problems = t.items.filter((i) => i.kind === "error" || (i.kind === "tool" && i.result?.isError) || ("tone" in i && i.tone === "problem")).length;
      return (
        <section class="turn folded" data-turn={t.index}>
          <h3>
            <button type="button" class="unfold" onClick={() => props.onOpen(t.index)} aria-label={`show turn ${t.index + 1}`}>▸</button> {turnHeading(t)}
            <span class="when"> · {t.items.length} items{problems ? ` · ${problems} with problems` : ""}</span>
          </h3>
        </section>
      );
    }
    return (
      <section class="turn" data-turn={t.index}>
        <h3>{turnHeading(t)}</h3>
        {t.items.map((item) => <Item item={item} />)}
      </section>
    );
  },
  // A finished turn with the same items is drawn once; the open one with every change.
  (a, b) => a.turn === b.turn && a.size === b.size && a.ended === b.ended && a.open === b.open && (a.ended || a.version === b.version),
);

/**
 * The log as turns, newest last; every item links back to its seq. A long session opens
 * with its last turns drawn in full and the earlier ones folded to a line each (drawing
 * thousands of items would keep the page blank for seconds); a click, or a link to a seq
 * inside one, opens it.
 */
export function TimelineView(props: { timeline: Timeline; version: number }) {
  const turns = props.timeline.turns;
  const [opened, setOpened] = useState<ReadonlySet<number>>(new Set());
  const open = (index: number) => setOpened((o) => new Set([...o, index]));
  useEffect(() => {
    const onReveal = (e: Event) => {
      const seq = (e as CustomEvent<number>).detail;
      const turn = [...turns].reverse().find((t) => t.firstSeq <= seq);
      if (turn) open(turn.index);
    };
    addEventListener("oma:reveal", onReveal);
    return () => removeEventListener("oma:reveal", onReveal);
  }, [turns]);
  const firstOpen = turns.length - OPEN_TURNS;
  return (
    <div class="timeline">
      {turns.map((turn) => (
        <TurnView turn={turn} size={turn.items.length} ended={turn.end !== undefined} version={props.version} open={turn.index >= firstOpen || opened.has(turn.index)} onOpen={open} />
      ))}
    </div>
  );
}
