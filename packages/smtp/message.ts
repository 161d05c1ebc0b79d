/**
 * A small builder for a plain-text message, so that a first send needs no hand-written
 * RFC 5322: From, To, Cc, Subject, Date, Message-ID and MIME headers, non-ASCII header text as
 * RFC 2047 encoded words, a non-ASCII body as 8bit (or base64 where the server lacks 8BITMIME).
 *
 * @module
 */

import { encodeBase64 } from "@saslkit/sasl";
import { describe, type Mailbox, parseMailbox, parseMailboxList } from "./address.ts";
import { SmtpError } from "./error.ts";

/** What {@linkcode buildMessage} puts into the message. */
export interface MessageOptions {
  /** The author: `fred@example.com`, `"Fred" <fred@example.com>` or a {@linkcode Mailbox}. */
  readonly from: string | Mailbox;
  /** The recipients shown in `To`: one, a comma-separated string or an array. */
  readonly to: string | Mailbox | readonly (string | Mailbox)[];
  /** Recipients shown in `Cc`. */
  readonly cc?: string | Mailbox | readonly (string | Mailbox)[];
  /** The subject; any Unicode. */
  readonly subject?: string;
  /** The body, plain text; line endings become CRLF on the wire. */
  readonly text: string;
  /** The `Date`; default now. */
  readonly date?: Date;
  /** The `Message-ID` without angle brackets; default a random one at the sender's domain. */
  readonly messageId?: string;
  /**
   * Whether the body may go as 8bit (the server offers 8BITMIME); default true. When false, a
   * non-ASCII body is sent base64-encoded.
   */
  readonly eightBit?: boolean;
}

const encoder = new TextEncoder();
const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * RFC 2047 encoded words (`=?UTF-8?B?...?=`) for non-ASCII header text, each at most 75
 * characters, split between characters, never inside one, folded onto continuation lines.
 * Printable ASCII comes back unchanged.
 *
 * @param text The header text.
 * @returns The text as it may appear in a header.
 *
 * @example
 * ```ts
 * import { encodeHeaderText } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeHeaderText("hello"), "hello");
 * assert.equal(encodeHeaderText("Grüße"), "=?UTF-8?B?R3LDvMOfZQ==?=");
 * ```
 */
export function encodeHeaderText(text: string): string {
  if (ASCII_PRINTABLE.test(text)) return text;
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (encoder.encode(chunk + char).length > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${encodeBase64(encoder.encode(w))}?=`).join("\r\n ");
}

/**
 * A mailbox as a header shows it: `fred@example.com`, or `"Fred Bloggs" <fred@example.com>`
 * with a non-ASCII name as an encoded word.
 *
 * @param mailbox The mailbox.
 * @returns The header form.
 *
 * @example
 * ```ts
 * import { formatMailbox } from "@saslkit/smtp/low-level";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMailbox({ address: "fred@example.com", name: "Fred" }), '"Fred" <fred@example.com>');
 * ```
 */
export function formatMailbox(mailbox: Mailbox): string {
  if (!mailbox.name) return mailbox.address;
  const name = ASCII_PRINTABLE.test(mailbox.name)
    ? `"${mailbox.name.replace(/["\\]/g, "\\$&")}"`
    : encodeHeaderText(mailbox.name);
  return `${name} <${mailbox.address}>`;
}

// `To: a, b, c`, folded onto continuation lines so that no line passes 78 characters where it
// can be helped (RFC 5322 §2.1.1).
function addressHeader(name: string, mailboxes: readonly Mailbox[]): string {
  let header = `${name}:`;
  let lineLength = header.length;
  mailboxes.forEach((mailbox, i) => {
    const item = formatMailbox(mailbox) + (i < mailboxes.length - 1 ? "," : "");
    const firstLine = item.split("\r\n")[0];
    if (i > 0 && lineLength + 1 + firstLine.length > 78) {
      header += "\r\n";
      lineLength = 0;
    }
    header += ` ${item}`;
    const lines = item.split("\r\n");
    lineLength = lines.length > 1 ? lines.at(-1)!.length : lineLength + 1 + item.length;
  });
  return header;
}

function rfc5322Date(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new SmtpError("invalid-argument", "date is invalid");
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/**
 * Builds a plain-text message: headers, a blank line, the body. Control characters are refused
 * in every header value; non-ASCII subjects and display names become encoded words.
 *
 * @param options Who, what, when.
 * @returns The message, CRLF line endings, ready for `sendMail({ data })`.
 * @throws {SmtpError} `invalid-argument` for a bad address, a subject with CR/LF, a missing body.
 *
 * @example
 * ```ts
 * import { buildMessage } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const message = buildMessage({
 *   from: '"Fred" <fred@example.com>',
 *   to: "bob@example.com",
 *   subject: "Grüße",
 *   text: "Hello Bob\n",
 *   date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
 *   messageId: "1@example.com",
 * });
 * assert.match(message, /^From: "Fred" <fred@example\.com>\r\n/);
 * assert.match(message, /\r\nSubject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r\n/);
 * assert.match(message, /\r\nDate: Fri, 02 Jan 2026 03:04:05 \+0000\r\n/);
 * assert.match(message, /\r\nMessage-ID: <1@example\.com>\r\n/);
 * assert.ok(message.endsWith("\r\n\r\nHello Bob\r\n"));
 * ```
 */
export function buildMessage(options: MessageOptions): string {
  if (typeof options !== "object" || options === null) {
    throw new SmtpError("invalid-argument", "buildMessage() takes an options object");
  }
  const from = parseMailbox(options.from, "from");
  const to = parseMailboxList(options.to, "to");
  const cc = options.cc === undefined ? [] : parseMailboxList(options.cc, "cc");
  if (typeof options.text !== "string") {
    throw new SmtpError("invalid-argument", `text must be a string, not ${describe(options.text)}`);
  }
  const subject = options.subject;
  if (subject !== undefined) {
    if (typeof subject !== "string") {
      throw new SmtpError("invalid-argument", `subject must be a string, not ${describe(subject)}`);
    }
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(subject)) {
      throw new SmtpError("invalid-argument", "subject must not contain CR, LF or controls");
    }
  }
  const messageId = options.messageId ??
    `${crypto.randomUUID()}@${from.address.slice(from.address.lastIndexOf("@") + 1)}`;
  if (
    typeof messageId !== "string" ||
    !/^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/.test(messageId)
  ) {
    throw new SmtpError("invalid-argument", "messageId must look like unique@domain");
  }
  const ascii = /^[\p{ASCII}]*$/u.test(options.text);
  const eightBit = options.eightBit ?? true;
  const body = ascii || eightBit
    ? options.text
    : (encodeBase64(encoder.encode(options.text.replace(/\r?\n/g, "\r\n"))).match(/.{1,76}/g) ??
      []).join("\r\n") + "\r\n";
  const headers = [
    `From: ${formatMailbox(from)}`,
    addressHeader("To", to),
    ...(cc.length ? [addressHeader("Cc", cc)] : []),
    ...(subject !== undefined ? [`Subject: ${encodeHeaderText(subject)}`] : []),
    `Date: ${rfc5322Date(options.date ?? new Date())}`,
    `Message-ID: <${messageId}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${ascii ? "7bit" : eightBit ? "8bit" : "base64"}`,
  ];
  const text = body.replace(/\r?\n/g, "\r\n");
  return `${headers.join("\r\n")}\r\n\r\n${
    text.endsWith("\r\n") || text === "" ? text : `${text}\r\n`
  }`;
}
