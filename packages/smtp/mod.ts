/**
 * SMTP AUTH (RFC 4954) on top of {@link https://jsr.io/@saslkit/sasl | @saslkit/sasl}.
 *
 * This first piece reads the mechanisms a server advertises in its EHLO reply, which is where
 * a client's choice of mechanism starts.
 *
 * @example Which mechanisms does the server offer?
 * ```ts
 * import { parseEhloAuth } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseEhloAuth(["250-mx.example.com", "250 AUTH PLAIN LOGIN"]), [
 *   "PLAIN",
 *   "LOGIN",
 * ]);
 * ```
 *
 * @module
 */

export * from "./ehlo.ts";
