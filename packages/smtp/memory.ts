/**
 * What the fallback policy remembers per server, so that the next connection goes straight to
 * the mechanism that worked and skips those that the server cannot really do.
 *
 * @module
 */

/** How one mechanism fared with one server. */
export type AttemptResult =
  | "authenticated"
  | "unsupported"
  | "temporary"
  | "bad-credentials"
  | "rejected"
  | "client-error"
  | "connection-lost"
  | "dropped-after-auth"
  | "insufficient-protection";

/** What is remembered about one server. */
export interface ServerRecord {
  /** The mechanism that last authenticated. */
  readonly worked?: string;
  /** Mechanisms that failed in a way that says something about the server, and how. */
  readonly failed: Readonly<Record<string, AttemptResult>>;
}

/**
 * Where the policy keeps its {@linkcode ServerRecord}s. Implement it over a file or a database
 * to remember across processes; methods may be synchronous or return promises.
 */
export interface MechanismMemory {
  /** The record of a server (`host:port`), if any. */
  get(server: string): ServerRecord | undefined | Promise<ServerRecord | undefined>;
  /** Replaces the record of a server. */
  set(server: string, record: ServerRecord): void | Promise<void>;
}

/**
 * A {@linkcode MechanismMemory} in a `Map`, for the life of the process.
 *
 * @example
 * ```ts
 * import { InMemoryMechanismMemory } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const memory = new InMemoryMechanismMemory();
 * memory.set("mail.example.com:587", { worked: "CRAM-MD5", failed: { "DIGEST-MD5": "dropped-after-auth" } });
 * assert.equal(memory.get("mail.example.com:587")?.worked, "CRAM-MD5");
 * ```
 */
export class InMemoryMechanismMemory implements MechanismMemory {
  #records = new Map<string, ServerRecord>();

  /** The record of a server, if any. */
  get(server: string): ServerRecord | undefined {
    return this.#records.get(server);
  }

  /** Replaces the record of a server. */
  set(server: string, record: ServerRecord): void {
    this.#records.set(server, record);
  }
}

// Failures that describe the server rather than the credentials or the moment: worth skipping
// next time.
const LASTING: readonly AttemptResult[] = ["unsupported", "client-error", "dropped-after-auth"];

/**
 * Orders the caller's mechanisms with what is remembered: the one that worked first, those
 * that failed lastingly last. Nothing is dropped: a server may have been fixed.
 */
export function orderByMemory(
  mechanisms: readonly string[],
  record: ServerRecord | undefined,
): string[] {
  if (!record) return [...mechanisms];
  const worked = mechanisms.filter((m) => m === record.worked);
  const failed = mechanisms.filter((m) =>
    m !== record.worked && LASTING.includes(record.failed[m])
  );
  const rest = mechanisms.filter((m) => !worked.includes(m) && !failed.includes(m));
  return [...worked, ...rest, ...failed];
}
