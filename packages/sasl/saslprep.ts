/**
 * SASLprep (RFC 4013), the string preparation SCRAM applies to usernames and passwords, as a
 * function that fails with a typed {@linkcode SaslError} instead of a bare `Error`.
 *
 * The preparation itself is `@mongodb-js/saslprep`; this module only classifies its failures
 * and keeps the rejected input out of every message.
 *
 * Browsers: `@mongodb-js/saslprep` 1.6 (its browser build included) and its dependency
 * `sparse-bitfield` call Node's `Buffer` when the module loads, so a browser bundle that
 * contains this module (or `@saslkit/sasl/scram`) needs a global `Buffer` polyfill. That is why
 * it lives behind its own entry point and the main `@saslkit/sasl` entry does not load it.
 *
 * @example
 * ```ts
 * import { saslprep } from "@saslkit/sasl/saslprep";
 * import assert from "node:assert/strict";
 *
 * assert.equal(saslprep("I\u00ADX"), "IX"); // soft hyphen mapped to nothing
 * assert.equal(saslprep("\u2168"), "IX"); // ROMAN NUMERAL NINE, NFKC
 * ```
 *
 * @module
 */

import prepare from "@mongodb-js/saslprep";
import { SaslError } from "./error.ts";

/** Options of {@linkcode saslprep}. */
export interface SaslprepOptions {
  /**
   * Allow unassigned code points, as RFC 4013 §2.5 does for "queries" (what a client sends;
   * SCRAM's `Normalize()` is a query). Stored strings (what a server keeps) leave it `false`,
   * the default.
   */
  readonly allowUnassigned?: boolean;
  /** What the string is, for the error message (`username`, `password`); default `string`. */
  readonly what?: string;
}

/**
 * Prepares a string with SASLprep (RFC 4013): maps non-ASCII spaces to SPACE and the
 * "commonly mapped to nothing" characters to nothing, normalizes with NFKC, and rejects
 * prohibited output (control characters, private use, surrogates…), unassigned code points
 * (unless allowed) and strings that break the bidirectional rule of RFC 3454 §6.
 *
 * An empty input returns `""`. An input that maps to nothing (only soft hyphens, zero-width
 * spaces…) is refused, since `@mongodb-js/saslprep` 1.6 fails on it.
 *
 * @param value The string to prepare.
 * @param options Whether unassigned code points are allowed, and what to call the string.
 * @returns The prepared string.
 * @throws {SaslError} `invalid-argument` when SASLprep rejects the string. The message names
 * the rule that failed, never the input.
 *
 * @example The examples of RFC 4013 §3
 * ```ts
 * import { saslprep } from "@saslkit/sasl/saslprep";
 * import { SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(saslprep("user"), "user");
 * assert.equal(saslprep("USER"), "USER"); // case is kept
 * assert.equal(saslprep("\u00AA"), "a"); // FEMININE ORDINAL INDICATOR, NFKC
 * assert.throws(() => saslprep("\u0007"), (e) => e instanceof SaslError && e.code === "invalid-argument");
 * assert.throws(() => saslprep("\u0627\u0031"), SaslError); // bidi: RandALCat must end it too
 * ```
 */
export function saslprep(value: string, options: SaslprepOptions = {}): string {
  const what = options.what ?? "string";
  if (typeof value !== "string") {
    throw new SaslError("invalid-argument", `the ${what} must be a string`);
  }
  try {
    return prepare(value, { allowUnassigned: options.allowUnassigned === true });
  } catch (error) {
    // The library's messages are fixed texts; only the rule is kept, never the input.
    const text = error instanceof Error ? error.message : "";
    const rule = text.startsWith("Prohibited")
      ? "contains a prohibited character (RFC 4013 §2.3)"
      : text.startsWith("Unassigned")
      ? "contains an unassigned code point (RFC 4013 §2.5)"
      : /RandALCat|Bidirectional/.test(text)
      ? "breaks the bidirectional rule (RFC 3454 §6)"
      : "is rejected by SASLprep";
    throw new SaslError("invalid-argument", `the ${what} ${rule}`);
  }
}
