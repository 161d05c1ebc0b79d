// sendMail's run-time checks and the reading of its final reply, kept out of the session so
// that a JavaScript caller's mistakes are caught before a byte is sent.

import { describe, parseMailbox, parseMailboxList } from "./address.ts";
import type { SmtpCapabilities } from "./ehlo.ts";
import { SmtpError } from "./error.ts";
import type { SendMailOptions } from "./mail.ts";
import { buildMessage } from "./message.ts";
import type { SmtpReply } from "./reply.ts";

const KNOWN = new Set([
  "from",
  "to",
  "cc",
  "bcc",
  "data",
  "text",
  "subject",
  "requireAllRecipients",
]);
const NOT_SUPPORTED: Readonly<Record<string, string>> = {
  html: "html bodies are not built here: make the MIME message yourself and pass it as data",
  attachments: "attachments are not built here: make the MIME message yourself and pass it as data",
  raw: "pass the whole message as data",
  envelope: "the envelope is from, to, cc and bcc",
};

/** The message as the session sends it. */
export interface CheckedMessage {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly data: string | Uint8Array;
  /** MAIL FROM parameters, with a leading space, or "". */
  readonly parameters: string;
  readonly requireAllRecipients: boolean;
}

const NON_ASCII = /[^\p{ASCII}]/u;

function hasHighBytes(data: string | Uint8Array): boolean {
  if (typeof data === "string") return NON_ASCII.test(data);
  return data.some((b) => b > 0x7f);
}

/**
 * Checks every field of a sendMail call, builds the message from `text` when asked, and picks
 * the MAIL FROM parameters the content needs.
 *
 * @throws {SmtpError} `invalid-argument` or `not-supported`.
 */
export function checkMessage(
  message: SendMailOptions,
  capabilities: SmtpCapabilities | undefined,
): CheckedMessage {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new SmtpError(
      "invalid-argument",
      `sendMail() takes { from, to, data } or { from, to, subject, text }, not ${
        describe(message)
      }`,
    );
  }
  for (const key of Object.keys(message)) {
    if (KNOWN.has(key)) continue;
    throw new SmtpError(
      "invalid-argument",
      `sendMail(): ${NOT_SUPPORTED[key] ?? `unknown field "${key.slice(0, 40)}"`} (fields: ${
        [...KNOWN].join(", ")
      })`,
    );
  }
  const from = message.from === "" ? { address: "" } : parseMailbox(message.from, "from");
  const to = parseMailboxList(message.to, "to");
  const cc = message.cc === undefined ? [] : parseMailboxList(message.cc, "cc");
  const bcc = message.bcc === undefined ? [] : parseMailboxList(message.bcc, "bcc");
  const recipients = [...new Set([...to, ...cc, ...bcc].map((m) => m.address))];
  if (
    message.requireAllRecipients !== undefined && typeof message.requireAllRecipients !== "boolean"
  ) {
    throw new SmtpError("invalid-argument", "requireAllRecipients must be true or false");
  }

  let data: string | Uint8Array;
  if (message.data !== undefined) {
    if (message.text !== undefined || message.subject !== undefined) {
      throw new SmtpError(
        "invalid-argument",
        "give either data (the whole message) or text and subject (headers built), not both",
      );
    }
    if (typeof message.data !== "string" && !(message.data instanceof Uint8Array)) {
      throw new SmtpError(
        "invalid-argument",
        `data must be a string or a Uint8Array, not ${describe(message.data)}`,
      );
    }
    data = message.data;
  } else if (message.text !== undefined) {
    if (from.address === "") {
      throw new SmtpError("invalid-argument", "a built message needs a from address");
    }
    data = buildMessage({
      from,
      to,
      cc: cc.length ? cc : undefined,
      subject: message.subject,
      text: message.text,
      eightBit: capabilities?.eightBitMime ?? false,
    });
  } else {
    throw new SmtpError(
      "invalid-argument",
      "sendMail() needs data (the whole message) or text (a plain body, headers built)",
    );
  }

  const utf8 = [from.address, ...recipients].some((a) => NON_ASCII.test(a));
  if (utf8 && !capabilities?.smtpUtf8) {
    throw new SmtpError(
      "not-supported",
      "a non-ASCII address needs SMTPUTF8, and the server does not offer it",
    );
  }
  const parameters = [
    ...(hasHighBytes(data) && capabilities?.eightBitMime ? ["BODY=8BITMIME"] : []),
    ...(utf8 ? ["SMTPUTF8"] : []),
  ];
  return {
    from: from.address,
    recipients,
    data,
    parameters: parameters.length ? ` ${parameters.join(" ")}` : "",
    requireAllRecipients: message.requireAllRecipients ?? false,
  };
}

/**
 * The queue id in a reply to the end of the data, in the forms of Sendmail
 * (`250 2.0.0 5AQK00000001 Message accepted for delivery`), Postfix (`Ok: queued as 4F1D32`)
 * and Exim (`OK id=1tVx2Y-000Abc-De`).
 */
export function queueIdOf(reply: SmtpReply): string | undefined {
  const text = reply.lines.join(" ");
  const match = /queued as ([A-Za-z0-9]+)/i.exec(text) ?? /\bid=([A-Za-z0-9-]+)/.exec(text) ??
    /^([A-Za-z0-9]{6,32}) (?:Message accepted|message accepted)/.exec(text);
  return match?.[1];
}
