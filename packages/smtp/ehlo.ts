/**
 * Reading the SASL mechanisms a server offers from its EHLO reply (RFC 4954 §3).
 *
 * @module
 */

// RFC 4422 §3.1: a mechanism name is 1 to 20 of upper-case letters, digits, "-" and "_".
const MECHANISM_NAME = /^[A-Z0-9_-]{1,20}$/;
const REPLY_CODE = /^\d{3}[ -]/;
// "AUTH" alone, "AUTH mech…" (RFC 4954), or the pre-standard "AUTH=mech…" that old Sendmail and
// Microsoft servers still send beside, or instead of, the standard line.
const AUTH_KEYWORD = /^AUTH(?:[ =]|$)/i;

/**
 * Extracts the SASL mechanisms advertised in an EHLO reply.
 *
 * Each line may carry its reply code (`250-AUTH PLAIN`) or not (`AUTH PLAIN`). Both the standard
 * `AUTH` keyword and the obsolete `AUTH=` form are read. Names are upper-cased, duplicates are
 * dropped, the server's order is kept (first occurrence wins), and anything that is not a valid
 * SASL mechanism name is ignored.
 *
 * @param lines The lines of the EHLO reply, without line endings.
 * @returns The mechanisms, in the order the server listed them; empty when AUTH is not offered.
 *
 * @example
 * ```ts
 * import { parseEhloAuth } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * const reply = [
 *   "250-mail.example.com Hello client.example.com",
 *   "250-AUTH DIGEST-MD5 CRAM-MD5 login",
 *   "250-AUTH=LOGIN PLAIN",
 *   "250 HELP",
 * ];
 * assert.deepEqual(parseEhloAuth(reply), ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]);
 * ```
 */
export function parseEhloAuth(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of lines) {
    const line = raw.replace(REPLY_CODE, "").trim();
    if (!AUTH_KEYWORD.test(line)) continue;
    for (const token of line.slice(5).split(/\s+/)) {
      const name = token.toUpperCase();
      if (MECHANISM_NAME.test(name)) seen.add(name);
    }
  }
  return [...seen];
}

/** What a server said it can do in its EHLO reply. */
export interface SmtpCapabilities {
  /** The server's name, from the first line. */
  readonly domain: string;
  /** SASL mechanisms, in the server's order (both `AUTH` and `AUTH=` forms). */
  readonly auth: readonly string[];
  /** STARTTLS (RFC 3207). */
  readonly startTls: boolean;
  /** PIPELINING (RFC 2920). */
  readonly pipelining: boolean;
  /** SMTPUTF8 (RFC 6531). */
  readonly smtpUtf8: boolean;
  /** 8BITMIME (RFC 6152). */
  readonly eightBitMime: boolean;
  /** ENHANCEDSTATUSCODES (RFC 2034). */
  readonly enhancedStatusCodes: boolean;
  /** The SIZE limit in bytes (RFC 1870); 0 means announced without a limit. */
  readonly size?: number;
  /** Every extension keyword (upper-case) with its parameters. */
  readonly extensions: ReadonlyMap<string, string>;
}

/**
 * Reads an EHLO reply's lines into capabilities.
 *
 * @param reply The reply (only its `lines` are read).
 *
 * @example
 * ```ts
 * import { parseEhlo } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * const caps = parseEhlo({ lines: ["mx.example.com hi", "SIZE 10240000", "AUTH=PLAIN", "STARTTLS"] });
 * assert.equal(caps.domain, "mx.example.com");
 * assert.equal(caps.size, 10240000);
 * assert.deepEqual(caps.auth, ["PLAIN"]);
 * assert.equal(caps.startTls, true);
 * ```
 */
export function parseEhlo(reply: { readonly lines: readonly string[] }): SmtpCapabilities {
  const [first = "", ...rest] = reply.lines;
  const extensions = new Map<string, string>();
  for (const line of rest) {
    const match = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    if (!extensions.has(keyword)) extensions.set(keyword, (match[2] ?? "").trim());
  }
  const sizeText = extensions.get("SIZE");
  const size = sizeText !== undefined && /^\d{1,15}$/.test(sizeText || "0")
    ? Number(sizeText || "0")
    : undefined;
  return {
    domain: first.split(" ")[0],
    auth: parseEhloAuth(rest),
    startTls: extensions.has("STARTTLS"),
    pipelining: extensions.has("PIPELINING"),
    smtpUtf8: extensions.has("SMTPUTF8"),
    eightBitMime: extensions.has("8BITMIME"),
    enhancedStatusCodes: extensions.has("ENHANCEDSTATUSCODES"),
    size,
    extensions,
  };
}
