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
 * import { parseEhloAuth } from "@saslkit/smtp";
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
