// Messages that can be found again in a real server's queue, and the lookup.

import assert from "node:assert/strict";
import type { SmtpPeer } from "../servers.ts";

/** A message with a Subject and Message-ID no other message has. */
export interface TestMessage {
  readonly subject: string;
  readonly messageId: string;
  /** The body alone, CRLF line endings. */
  readonly body: string;
  /** Headers and body, ready for `sendMail`. */
  readonly data: string;
}

export const FROM = "sender@example.com";
export const TO = "rcpt@example.com";

/** A message tagged `label` (which goes into the Subject) with `body`. */
export function testMessage(
  label: string,
  body = `sent by live_test.ts: ${label}\r\n`,
): TestMessage {
  const id = crypto.randomUUID();
  const subject = `saslkit live ${label} ${id}`;
  const messageId = `<${id}@client.example.com>`;
  const headers = [
    `From: <${FROM}>`,
    `To: <${TO}>`,
    `Subject: ${subject}`,
    `Message-ID: ${messageId}`,
    `Date: ${new Date().toUTCString().replace(/GMT$/, "+0000")}`,
  ];
  return { subject, messageId, body, data: `${headers.join("\r\n")}\r\n\r\n${body}` };
}

/**
 * A body of about 20 KB: more than Sendmail's maxbuf of 8192, so that a layered DATA is split
 * over several buffers, with lines that start with "." (dot-stuffed on the wire, and one of them
 * a lone "." that would end the message early if it were not) and a few non-ASCII ones.
 */
export function bigBody(): string {
  const lines: string[] = [];
  for (let i = 0; lines.join("\r\n").length < 20_000; i++) {
    const n = String(i).padStart(4, "0");
    if (i % 25 === 3) lines.push(".");
    else if (i % 25 === 11) lines.push("..");
    else if (i % 7 === 0) lines.push(`.line ${n} starts with a dot ${"-".repeat(30)}`);
    else if (i % 50 === 17) lines.push(`line ${n} jürgen pässwörd ✓ ${"ü".repeat(20)}`);
    else lines.push(`line ${n} ${"abcdefghijklmnopqrstuvwxyz".repeat(2)}`);
  }
  lines.push(".the last line starts with a dot too");
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * The queued text (Sendmail: qf then df; Postfix: postcat) of the one message with this
 * Message-ID; fails unless there is exactly one.
 */
export async function queuedMessage(peer: SmtpPeer, message: TestMessage): Promise<string> {
  const queued = await peer.queuedMessages();
  const mine = queued.filter((text) => text.includes(message.messageId));
  assert.equal(
    mine.length,
    1,
    `the ${peer.name} queue holds ${queued.length} message(s), ${mine.length} with ${message.messageId}`,
  );
  assert.ok(mine[0].includes(message.subject), "the Subject is queued with the Message-ID");
  return mine[0];
}

/**
 * Checks that Sendmail queued the body byte for byte: its df file, the end of the queued text,
 * holds the body with LF line endings and without dot-stuffing.
 */
export function assertSendmailBody(queued: string, message: TestMessage): void {
  const expected = message.body.replaceAll("\r\n", "\n");
  assert.ok(
    queued.endsWith(`\n${expected}`),
    `the queued body differs from the one sent (${expected.length} characters sent; ` +
      `queued text ends with ${JSON.stringify(queued.slice(-200))})`,
  );
}

/** The SSF Sendmail wrote into its Received header: `(authenticated bits=N)`. */
export function authenticatedBits(queued: string): number | undefined {
  const match = /\(authenticated bits=(\d+)\)/.exec(queued);
  return match ? Number(match[1]) : undefined;
}
