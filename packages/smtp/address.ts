/**
 * Mail addresses as callers write them: a bare `fred@example.com`, a mailbox with a display
 * name (`"Fred Bloggs" <fred@example.com>`, `Fred <fred@example.com>`), or a comma-separated
 * list of those. What goes into the SMTP envelope is the bare address; the display name is kept
 * for the message's headers.
 *
 * @module
 */

import { SmtpError } from "./error.ts";

/** One mailbox: the address, and the display name when one was written. */
export interface Mailbox {
  /** The address for the envelope: `local@domain`, no angle brackets. */
  readonly address: string;
  /** The display name, unquoted (`Fred Bloggs`), if any. */
  readonly name?: string;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const MAX_ADDRESS = 254; // RFC 5321 §4.5.3.1.3 path limit, less the brackets
const MAX_LOCAL = 64;

/**
 * Checks one bare address: `local@domain`, no spaces, angle brackets, quotes, commas or
 * control characters, at most 254 octets (64 for the local part). Non-ASCII is allowed: it
 * needs SMTPUTF8 from the server, which `sendMail` checks.
 *
 * @param address The address.
 * @param what How to name it in an error (`to[1]`).
 * @throws {SmtpError} `invalid-argument`, saying what is wrong.
 */
function checkAddress(address: string, what: string): string {
  if (CONTROL.test(address)) {
    throw new SmtpError("invalid-argument", `${what} must not contain control characters`);
  }
  if (/[\s<>",;()[\]\\]/.test(address)) {
    throw new SmtpError(
      "invalid-argument",
      `${what} is not an address: write fred@example.com or "Fred" <fred@example.com>`,
    );
  }
  const at = address.lastIndexOf("@");
  if (
    at <= 0 || at === address.length - 1 || !address.slice(at + 1).includes(".") &&
      address.slice(at + 1) !== "localhost"
  ) {
    throw new SmtpError("invalid-argument", `${what} must be an address like fred@example.com`);
  }
  if (new TextEncoder().encode(address).length > MAX_ADDRESS || at > MAX_LOCAL) {
    throw new SmtpError("invalid-argument", `${what} is too long for SMTP`);
  }
  return address;
}

/**
 * Reads one mailbox: `fred@example.com`, `<fred@example.com>`, `Fred <fred@example.com>` or
 * `"Bloggs, Fred" <fred@example.com>`, or a {@linkcode Mailbox} object.
 *
 * @param input The text, or an object with `address` (and `name`).
 * @param what How to name it in an error; default `address`.
 * @returns The mailbox.
 * @throws {SmtpError} `invalid-argument` for anything else, saying what was expected.
 *
 * @example
 * ```ts
 * import { parseMailbox } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseMailbox('"Fred Bloggs" <fred@example.com>'), {
 *   address: "fred@example.com",
 *   name: "Fred Bloggs",
 * });
 * assert.deepEqual(parseMailbox("fred@example.com"), { address: "fred@example.com" });
 * ```
 */
export function parseMailbox(input: unknown, what = "address"): Mailbox {
  if (typeof input === "object" && input !== null && "address" in input) {
    const { address, name } = input as { address: unknown; name?: unknown };
    if (typeof address !== "string") {
      throw new SmtpError("invalid-argument", `${what}.address must be a string`);
    }
    if (name !== undefined && typeof name !== "string") {
      throw new SmtpError("invalid-argument", `${what}.name must be a string`);
    }
    if (name !== undefined && CONTROL.test(name)) {
      throw new SmtpError("invalid-argument", `${what}.name must not contain control characters`);
    }
    checkAddress(address, what);
    return name ? { address, name } : { address };
  }
  if (typeof input !== "string") {
    throw new SmtpError(
      "invalid-argument",
      `${what} must be a string like fred@example.com, not ${describe(input)}`,
    );
  }
  const text = input.trim();
  if (text === "") throw new SmtpError("invalid-argument", `${what} is empty`);
  if (CONTROL.test(text)) {
    throw new SmtpError("invalid-argument", `${what} must not contain CR, LF or other controls`);
  }
  const open = text.lastIndexOf("<");
  if (open < 0) {
    if (text.includes(">")) throw new SmtpError("invalid-argument", `${what} has a stray >`);
    return { address: checkAddress(text, what) };
  }
  if (!text.endsWith(">") || text.indexOf(">") !== text.length - 1) {
    throw new SmtpError(
      "invalid-argument",
      `${what}: nothing may follow <address>; write "Fred" <fred@example.com>`,
    );
  }
  const address = checkAddress(text.slice(open + 1, -1).trim(), what);
  let name = text.slice(0, open).trim();
  if (name.startsWith('"')) {
    if (!name.endsWith('"') || name.length < 2) {
      throw new SmtpError("invalid-argument", `${what}: the display name's quotes do not close`);
    }
    name = name.slice(1, -1).replace(/\\(.)/g, "$1");
  } else if (/[<>"@,;:]/.test(name)) {
    throw new SmtpError(
      "invalid-argument",
      `${what}: a display name with <>"@,;: must be quoted: "Bloggs, Fred" <fred@example.com>`,
    );
  }
  return name ? { address, name } : { address };
}

/**
 * Reads recipients: one string, a comma-separated string (`a@example.com, "B" <b@example.com>`),
 * or an array of strings and {@linkcode Mailbox} objects. Commas inside quotes belong to a name.
 *
 * @param input The recipients.
 * @param what How to name them in an error; default `to`.
 * @returns The mailboxes, at least one.
 * @throws {SmtpError} `invalid-argument` for an empty list or any bad entry.
 *
 * @example
 * ```ts
 * import { parseMailboxList } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const list = parseMailboxList('"Bloggs, Fred" <fred@example.com>, bob@example.com');
 * assert.deepEqual(list.map((m) => m.address), ["fred@example.com", "bob@example.com"]);
 * assert.equal(list[0].name, "Bloggs, Fred");
 * ```
 */
export function parseMailboxList(input: unknown, what = "to"): Mailbox[] {
  let entries: unknown[];
  if (typeof input === "string") {
    entries = splitList(input);
  } else if (Array.isArray(input)) {
    entries = input.flatMap((item) => typeof item === "string" ? splitList(item) : [item]);
  } else if (typeof input === "object" && input !== null && "address" in input) {
    entries = [input];
  } else {
    throw new SmtpError(
      "invalid-argument",
      `${what} must be an address, a comma-separated list or an array of addresses, not ${
        describe(input)
      }`,
    );
  }
  if (entries.length === 0) throw new SmtpError("invalid-argument", `${what}: no recipients`);
  return entries.map((entry, i) => parseMailbox(entry, `${what}[${i}]`));
}

// Splits on commas outside quotes and angle brackets.
function splitList(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  let angled = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === "\\" && i + 1 < text.length) {
      current += c + text[++i];
      continue;
    }
    if (c === '"' && !angled) quoted = !quoted;
    else if (c === "<" && !quoted) angled = true;
    else if (c === ">" && !quoted) angled = false;
    if (c === "," && !quoted && !angled) {
      parts.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p, _i, all) => p !== "" || all.length === 1);
}

/** A short, secret-free description of a value of the wrong type, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}
