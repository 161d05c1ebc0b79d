// Types of scripts/fuzz.mjs for the tests that import it.
/** A fuzz target: valid seeds and a step that may throw only SaslError. */
export interface Target {
  readonly seeds?: readonly Uint8Array[];
  run(input: Uint8Array, rand: () => number): unknown;
}
/** What is wrong with how one input was handled. */
export interface Problem {
  readonly problem: "throw" | "slow" | "memory";
  readonly error?: string;
  readonly ms?: number;
  /** For "memory": the heap the target's run kept. */
  readonly bytes?: number;
}
/** The heap a target's whole run may keep once it is over. */
export const RETAINED_LIMIT: number;
/** The heap in use after a full collection (needs --v8-flags=--expose-gc). */
export function retainedHeap(): number;
export function prng(seed: number): () => number;
export function mutate(
  rand: () => number,
  seed: Uint8Array,
  seeds: readonly Uint8Array[],
): Uint8Array;
export function targets(): Promise<Record<string, Target>>;
export function tryInput(
  target: Target,
  input: Uint8Array,
  rand: () => number,
): Promise<Problem | null | undefined>;
export function fuzz(options?: {
  seed?: number;
  iterations?: number;
  only?: string;
  /** The targets to run; default `targets()`. */
  all?: Record<string, Target>;
  onProgress?: (
    p: {
      target: string;
      inputs: number;
      accepted: number;
      ms: number;
      retained: number;
      findings: number;
    },
  ) => void;
}): Promise<(Problem & { target: string; input: Uint8Array })[]>;
