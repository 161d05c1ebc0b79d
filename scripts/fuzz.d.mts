// Types of scripts/fuzz.mjs for the tests that import it.
/** A fuzz target: valid seeds and a step that may throw only SaslError. */
export interface Target {
  readonly seeds?: readonly Uint8Array[];
  run(input: Uint8Array, rand: () => number): unknown;
}
/** What is wrong with how one input was handled. */
export interface Problem {
  readonly problem: "throw" | "slow";
  readonly error?: string;
  readonly ms?: number;
}
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
  onProgress?: (
    p: { target: string; inputs: number; accepted: number; ms: number; findings: number },
  ) => void;
}): Promise<(Problem & { target: string; input: Uint8Array })[]>;
