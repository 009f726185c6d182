/** CPU and memory of processes as Linux's /proc tells them (the benches run on Linux). */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks a second of /proc's CPU times (USER_HZ, 100 on Linux). */
export const CLK_TCK = 100;

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime: its own CPU, every thread of it, in ticks. */
  readonly own: number;
  /** utime + stime + cutime + cstime: its own CPU and that of the children it reaped. */
  readonly ticks: number;
  readonly rssPages: number;
}

/** One process's figures; throws when it is gone. */
export function procStat(pid: number): Proc {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … rss(21).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return { pid, ppid: f[1]!, own: f[11]! + f[12]!, ticks: f[11]! + f[12]! + f[13]! + f[14]!, rssPages: f[21]! };
}

/** CPU-seconds a process has used so far, all its threads (not its children). */
export const ownCpuSeconds = (pid: number): number => procStat(pid).own / CLK_TCK;

/** `root` and its live descendants. */
export function processTree(root: number): Proc[] {
  const all = new Map<number, Proc>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      all.set(Number(name), procStat(Number(name)));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && p > 1 && depth < 64; p = all.get(p)?.ppid, depth++) if (p === root) return true;
    return false;
  };
  return [...all].filter(([pid]) => inTree(pid)).map(([, p]) => p);
}
