/**
 * The decoded transcript of an SMTP session, as a person debugging authentication wants to
 * read it: every SASL step decoded from base64, every secret replaced by `***`.
 *
 * @module
 */

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
 * Shows a client's SASL message without its secrets. Only what is known to be harmless is
 * kept: the DIGEST-MD5 directives but its `response`, the CRAM-MD5 user name. Everything
 * else a client sends (PLAIN, LOGIN, tokens, unknown mechanisms) becomes `***`.
 *
 * @example
 * ```ts
 * import { redactClientMessage } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const enc = new TextEncoder();
 * assert.equal(redactClientMessage("PLAIN", enc.encode("\0tim\0tanstaaf")), "***");
 * assert.equal(
 *   redactClientMessage("CRAM-MD5", enc.encode("tim b913a602c7eda7a495b4e6e7334d3890")),
 *   "tim ***",
 * );
 * assert.equal(
 *   redactClientMessage("DIGEST-MD5", enc.encode('username="tim",response=0123456789abcdef0123456789abcdef')),
 *   'username="tim",response=***',
 * );
 * ```
 */
export function redactClientMessage(mechanism: string, message: Uint8Array): string {
  if (message.length === 0) return "(empty)";
  switch (mechanism.toUpperCase()) {
    case "DIGEST-MD5":
      // Only the response directive: at the start or after a comma, any spacing, any case,
      // quoted or not. A username that happens to contain "response=" stays as it is.
      return printable(message).replace(
        /(^|,)(\s*response\s*=\s*)("[^"]*"|[^,]*)/gi,
        (_, lead, name) => `${lead}${name}***`,
      );
    case "CRAM-MD5": {
      const text = printable(message);
      const space = text.lastIndexOf(" ");
      return space > 0 ? `${text.slice(0, space)} ***` : "***";
    }
    default:
      return "***";
  }
}

/**
 * Shows a server's SASL challenge. Challenges carry no client secret, so they are decoded as
 * they are, with control characters escaped.
 *
 * @example
 * ```ts
 * import { describeChallenge } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describeChallenge(new TextEncoder().encode("Username:")), "Username:");
 * ```
 */
export function describeChallenge(challenge: Uint8Array): string {
  return challenge.length === 0 ? "(empty)" : printable(challenge);
}
