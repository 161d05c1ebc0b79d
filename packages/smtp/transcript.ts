/**
 * The decoded transcript of an SMTP session, as a person debugging authentication wants to
 * read it: every SASL step decoded from base64, every secret replaced by `***`.
 *
 * @module
 */

import { defaultRegistry, type MechanismRegistry, type RedactionStep } from "@saslkit/sasl";
import { escapeControls } from "./_bytes.ts";

/** One line of a transcript. */
export interface TranscriptEntry {
  /** `C` for what the client sent, `S` for what the server sent. */
  readonly direction: "C" | "S";
  /** The line, decoded and redacted. */
  readonly text: string;
  /** Whether the line crossed the wire inside a SASL security layer. */
  readonly layered: boolean;
}

/** Receives transcript lines as they happen. */
export type TranscriptSink = (entry: TranscriptEntry) => void;

const decoder = new TextDecoder();

function printable(bytes: Uint8Array): string {
  return escapeControls(decoder.decode(bytes));
}

/**
 * Shows a client's SASL message without its secrets, as the mechanism's registry entry says:
 * the DIGEST-MD5 directives but its `response`, the CRAM-MD5 user name, the PLAIN identities,
 * the SCRAM attributes but the proof, the OAuth header but the token. A mechanism the registry
 * does not know is shown as `***`.
 *
 * @param mechanism The mechanism name, any case.
 * @param message The decoded client message.
 * @param step The challenge it answers (LOGIN tells a username from a password by it).
 * @param registry Where the mechanism is looked up; default `defaultRegistry` of `@saslkit/sasl`.
 * @returns The message with secrets as `***` and control characters escaped.
 *
 * @example
 * ```ts
 * import { redactClientMessage } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * const enc = new TextEncoder();
 * assert.equal(redactClientMessage("PLAIN", enc.encode("\0tim\0tanstaaf")), "\\x00tim\\x00***");
 * assert.equal(
 *   redactClientMessage("CRAM-MD5", enc.encode("tim b913a602c7eda7a495b4e6e7334d3890")),
 *   "tim ***",
 * );
 * assert.equal(
 *   redactClientMessage("DIGEST-MD5", enc.encode('username="tim",response=0123456789abcdef0123456789abcdef')),
 *   'username="tim",response=***',
 * );
 * assert.equal(redactClientMessage("X-UNKNOWN", enc.encode("secret")), "***");
 * ```
 */
export function redactClientMessage(
  mechanism: string,
  message: Uint8Array,
  step: RedactionStep = {},
  registry: MechanismRegistry = defaultRegistry,
): string {
  if (message.length === 0) return "(empty)";
  const descriptor = registry.get(mechanism);
  return descriptor === undefined ? "***" : escapeControls(descriptor.redact(message, step));
}

/**
 * Shows a server's SASL challenge. Challenges carry no client secret, so they are decoded as
 * they are, with control characters escaped.
 *
 * @example
 * ```ts
 * import { describeChallenge } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describeChallenge(new TextEncoder().encode("Username:")), "Username:");
 * ```
 */
export function describeChallenge(challenge: Uint8Array): string {
  return challenge.length === 0 ? "(empty)" : printable(challenge);
}
