/**
 * The pieces underneath `@saslkit/smtp`, for those who build their own client or tooling:
 * the reply parser and formatter, EHLO parsing, transcript redaction, the failure
 * classification the policy and the probe share, memory ordering and header encoding.
 * Applications need none of them; they may change more often than the root export.
 *
 * @example Which mechanisms does the server offer?
 * ```ts
 * import { parseEhloAuth } from "@saslkit/smtp/low-level";
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

export { parseEhlo, parseEhloAuth, type SmtpCapabilities } from "./ehlo.ts";
export { formatReply, ReplyParser, type SmtpReply } from "./reply.ts";
export { describeChallenge, redactClientMessage } from "./transcript.ts";
export { orderByMemory } from "./memory.ts";
export { classifyAuthFailure } from "./policy.ts";
export { encodeHeaderText, formatMailbox } from "./message.ts";
