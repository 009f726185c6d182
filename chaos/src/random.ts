import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/**
 * The run's seeded randomness (pure-rand's xoroshiro128+). Every choice the harness makes
 * — which fault, when, against which process — comes from here, so a run is replayed with
 * its seed. What the system does in between (thread timing, the order of requests) is not
 * under the seed's control; the replay repeats the faults, not every interleaving.
 */
export class Random {
  readonly #rng;

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  /** An integer in [from, to]. */
  int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("nothing to pick from");
    return items[this.int(0, items.length - 1)]!;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A stream of its own for another part of the run, seeded from this one. */
  fork(): Random {
    return new Random(this.int(0, 0x7fffffff));
  }
}
