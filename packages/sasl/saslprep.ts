/**
 * SASLprep (RFC 4013), the string preparation SCRAM applies to usernames and passwords, as a
 * function that fails with a typed {@linkcode SaslError} instead of a bare `Error`.
 *
 * The preparation itself is `@mongodb-js/saslprep`, loaded with a dynamic `import()` the first
 * time a string needs it. Strings of printable ASCII (U+0020–U+007E) never need it: RFC 4013
 * maps no ASCII character, NFKC leaves ASCII as it is, and no printable ASCII character is
 * prohibited or a bidirectional RandALCat one; so they come back unchanged, and ASCII control
 * characters (U+0000–U+001F, U+007F; prohibited by RFC 3454 C.2.1) are refused, both without
 * loading the library. An app whose credentials are ASCII never loads it.
 *
 * Browsers: `@mongodb-js/saslprep` 1.6 (its browser build included) and its dependency
 * `sparse-bitfield` call Node's `Buffer` when they load, and carry about 560 kB of code-point
 * data. Bundlers put the `import()` in a chunk of its own that is fetched only for a
 * non-ASCII string; where `Buffer` is missing, preparing one fails with the typed error
 * `saslprep-unavailable`, which says to add a `Buffer` polyfill (set `globalThis.Buffer`
 * before the first non-ASCII string is prepared).
 *
 * @example
 * ```ts
 * import { saslprep } from "@saslkit/sasl/saslprep";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await saslprep("I\u00ADX"), "IX"); // soft hyphen mapped to nothing
 * assert.equal(await saslprep("\u2168"), "IX"); // ROMAN NUMERAL NINE, NFKC
 * assert.equal(await saslprep("pencil"), "pencil"); // printable ASCII: the library is not needed
 * ```
 *
 * @module
 */

import { SaslError } from "./error.ts";

/** Options of {@linkcode saslprep} and {@linkcode saslprepSync}. */
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

type Prepare = (value: string, options: { allowUnassigned: boolean }) => string;

let library: Prepare | undefined;
let loading: Promise<Prepare> | undefined;

const PROHIBITED = "contains a prohibited character (RFC 4013 §2.3)";

/**
 * What the library would do with an ASCII string, without it: the string itself when every
 * character is printable (U+0020–U+007E), the prohibited-character rule when one is a control
 * character, `undefined` when a character is above U+007F (the library decides).
 */
function asciiPrepared(value: string): string | { readonly refused: string } | undefined {
  let control = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0x7f) return undefined;
    if (code < 0x20 || code === 0x7f) control = true;
  }
  return control ? { refused: PROHIBITED } : value;
}

function checked(value: string, what: string): string {
  if (typeof value !== "string") {
    throw new SaslError("invalid-argument", `the ${what} must be a string`);
  }
  return value;
}

function run(prepare: Prepare, value: string, options: SaslprepOptions, what: string): string {
  try {
    return prepare(value, { allowUnassigned: options.allowUnassigned === true });
  } catch (error) {
    // The library's messages are fixed texts; only the rule is kept, never the input.
    const text = error instanceof Error ? error.message : "";
    const rule = text.startsWith("Prohibited")
      ? PROHIBITED
      : text.startsWith("Unassigned")
      ? "contains an unassigned code point (RFC 4013 §2.5)"
      : /RandALCat|Bidirectional/.test(text)
      ? "breaks the bidirectional rule (RFC 3454 §6)"
      : "is rejected by SASLprep";
    throw new SaslError("invalid-argument", `the ${what} ${rule}`);
  }
}

/**
 * Loads `@mongodb-js/saslprep` (once), so that {@linkcode saslprepSync} can prepare strings
 * that are not printable ASCII. {@linkcode saslprep} calls it by itself; call it ahead only
 * before synchronous code, such as the constructor of a `ScramClient` built directly with
 * non-ASCII credentials.
 *
 * @returns A promise that resolves once the library is loaded.
 * @throws {SaslError} `saslprep-unavailable` (the promise rejects) when the library cannot
 * load: in a browser without a global `Buffer` polyfill, or when the bundle left it out.
 *
 * @example
 * ```ts
 * import { loadSaslprep, saslprepSync } from "@saslkit/sasl/saslprep";
 * import assert from "node:assert/strict";
 *
 * await loadSaslprep();
 * assert.equal(saslprepSync("\u00AA"), "a"); // FEMININE ORDINAL INDICATOR, NFKC
 * ```
 */
export function loadSaslprep(): Promise<void> {
  loading ??= import("@mongodb-js/saslprep").then((module) => {
    const prepare = (module.default ?? module) as unknown as Prepare;
    if (typeof prepare !== "function") throw new TypeError("the module has no saslprep function");
    return library = prepare;
  }).catch((error: unknown) => {
    loading = undefined; // a later call may try again (after a polyfill was added)
    throw unavailable(error);
  });
  return loading.then(() => undefined);
}

function unavailable(error: unknown): SaslError {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const noBuffer = /\bBuffer\b/.test(text) && typeof (globalThis as { Buffer?: unknown })
        .Buffer === "undefined";
  return new SaslError(
    "saslprep-unavailable",
    noBuffer
      ? "SASLprep of a string that is not printable ASCII needs @mongodb-js/saslprep, which " +
        "needs a global Buffer: add a Buffer polyfill (for example the buffer package: " +
        "globalThis.Buffer = Buffer) before the first such string is prepared"
      : `SASLprep of a string that is not printable ASCII needs @mongodb-js/saslprep, which ` +
        `could not be loaded (${text.slice(0, 200)})`,
    { cause: error },
  );
}

/**
 * Prepares a string with SASLprep (RFC 4013): maps non-ASCII spaces to SPACE and the
 * "commonly mapped to nothing" characters to nothing, normalizes with NFKC, and rejects
 * prohibited output (control characters, private use, surrogates…), unassigned code points
 * (unless allowed) and strings that break the bidirectional rule of RFC 3454 §6.
 *
 * Printable ASCII comes back unchanged and ASCII control characters are refused without the
 * library; any other string loads `@mongodb-js/saslprep` the first time (see the module
 * documentation). An empty input returns `""`. An input that maps to nothing (only soft
 * hyphens, zero-width spaces…) is refused, since `@mongodb-js/saslprep` 1.6 fails on it.
 *
 * @param value The string to prepare.
 * @param options Whether unassigned code points are allowed, and what to call the string.
 * @returns The prepared string.
 * @throws {SaslError} (the promise rejects) `invalid-argument` when SASLprep rejects the
 * string (the message names the rule that failed, never the input); `saslprep-unavailable`
 * when the string needs the library and it cannot load (no `Buffer` in a browser).
 *
 * @example The examples of RFC 4013 §3
 * ```ts
 * import { saslprep } from "@saslkit/sasl/saslprep";
 * import { SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await saslprep("user"), "user");
 * assert.equal(await saslprep("USER"), "USER"); // case is kept
 * assert.equal(await saslprep("\u00AA"), "a"); // FEMININE ORDINAL INDICATOR, NFKC
 * await assert.rejects(saslprep("\u0007"), (e) => e instanceof SaslError && e.code === "invalid-argument");
 * await assert.rejects(saslprep("\u0627\u0031"), SaslError); // bidi: RandALCat must end it too
 * ```
 */
export async function saslprep(value: string, options: SaslprepOptions = {}): Promise<string> {
  const what = options.what ?? "string";
  const ascii = asciiPrepared(checked(value, what));
  if (typeof ascii === "string") return ascii;
  if (ascii !== undefined) throw new SaslError("invalid-argument", `the ${what} ${ascii.refused}`);
  if (library === undefined) await loadSaslprep();
  return run(library!, value, options, what);
}

/**
 * {@linkcode saslprep}, synchronously: for printable ASCII (returned unchanged) and ASCII
 * control characters (refused) always; for any other string only once
 * {@linkcode loadSaslprep} (or an earlier {@linkcode saslprep} call) has loaded
 * `@mongodb-js/saslprep`.
 *
 * @param value The string to prepare.
 * @param options Whether unassigned code points are allowed, and what to call the string.
 * @returns The prepared string.
 * @throws {SaslError} `invalid-argument` when SASLprep rejects the string;
 * `saslprep-unavailable` when the string needs the library and it is not loaded yet.
 *
 * @example
 * ```ts
 * import { saslprepSync } from "@saslkit/sasl/saslprep";
 * import assert from "node:assert/strict";
 *
 * assert.equal(saslprepSync("pencil"), "pencil"); // printable ASCII: always synchronous
 * ```
 */
export function saslprepSync(value: string, options: SaslprepOptions = {}): string {
  const what = options.what ?? "string";
  const ascii = asciiPrepared(checked(value, what));
  if (typeof ascii === "string") return ascii;
  if (ascii !== undefined) throw new SaslError("invalid-argument", `the ${what} ${ascii.refused}`);
  if (library === undefined) {
    throw new SaslError(
      "saslprep-unavailable",
      `the ${what} is not printable ASCII, so SASLprep needs @mongodb-js/saslprep, which is ` +
        "not loaded yet: await loadSaslprep() (exported by @saslkit/sasl, /scram and /saslprep) " +
        "first, or use the asynchronous saslprep(); the registry's SCRAM descriptors load it " +
        "themselves",
    );
  }
  return run(library, value, options, what);
}
