import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** "12:03:04" today, else "2025-01-31 12:03". */
export function clock(ms: number): string {
  if (!ms) return "";
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  const hms = d.toTimeString().slice(0, 8);
  return today ? hms : `${d.toISOString().slice(0, 10)} ${hms.slice(0, 5)}`;
}

export function clockOf(t: Timestamp | undefined): string {
  return t ? clock(timestampMs(t)) : "";
}

/** "850 ms", "3.2 s", "4 min 05 s". */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** "3 min ago". */
export function ago(ms: number, now = Date.now()): string {
  if (!ms) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function tokens(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}
