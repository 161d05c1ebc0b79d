/**
 * SMTP AUTH (RFC 4954) on top of {@link https://jsr.io/@saslkit/sasl | @saslkit/sasl}: a
 * session that applies the security layer it negotiates, and a policy that tries mechanisms
 * in the caller's order, notices a server that fails after agreeing, and moves on.
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
export * from "./error.ts";
export * from "./reply.ts";
export * from "./session.ts";
export * from "./transcript.ts";
export * from "./transport.ts";
export * from "./transport_deno.ts";
export * from "./mechanisms.ts";
export * from "./memory.ts";
export * from "./policy.ts";
