/**
 * What `SmtpSession.sendMail` takes and returns.
 *
 * @module
 */

import type { Mailbox } from "./address.ts";
import { SmtpError } from "./error.ts";
import type { SmtpReply } from "./reply.ts";

/**
 * One message for `SmtpSession.sendMail`: the envelope, and either the whole message as `data`
 * or a plain `text` body (with `subject`) from which the headers are built.
 *
 * @example The nodemailer shape works too
 * ```ts
 * import type { SendMailOptions } from "@saslkit/smtp";
 *
 * const message: SendMailOptions = {
 *   from: '"Fred" <fred@example.com>',
 *   to: "bob@example.com, carol@example.com",
 *   subject: "Hello",
 *   text: "Hi both\n",
 * };
 * ```
 */
export interface SendMailOptions {
  /** The sender: an address, `"Name" <address>`, a {@linkcode Mailbox}, or `""` for `<>`. */
  readonly from: string | Mailbox;
  /** The recipients: one, a comma-separated string, or an array. */
  readonly to: string | Mailbox | readonly (string | Mailbox)[];
  /** More recipients, shown in `Cc` when the headers are built. */
  readonly cc?: string | Mailbox | readonly (string | Mailbox)[];
  /** More recipients, in the envelope only. */
  readonly bcc?: string | Mailbox | readonly (string | Mailbox)[];
  /** The whole message, headers included (line endings are made CRLF). */
  readonly data?: string | Uint8Array;
  /** A plain-text body: the headers are built (From, To, Cc, Subject, Date, Message-ID). */
  readonly text?: string;
  /** The subject, with `text`. */
  readonly subject?: string;
  /**
   * Refuse the whole message (RSET, {@linkcode SmtpSendError}) when any recipient is refused.
   * Default false: the refused ones are reported in `rejected`.
   */
  readonly requireAllRecipients?: boolean;
}

/** A recipient the server refused at `RCPT TO`. */
export interface RejectedRecipient {
  /** The address. */
  readonly address: string;
  /** The server's reply. */
  readonly reply: SmtpReply;
}

/** One command of the transaction and the server's answer (`.` is the end of the data). */
export interface CommandReply {
  /** The command line as sent (`MAIL FROM:<a@example.com>`), or `.` for the data. */
  readonly command: string;
  /** The reply. */
  readonly reply: SmtpReply;
}

/** What `SmtpSession.sendMail` achieved. */
export interface SendMailResult {
  /** The recipients the server accepted. */
  readonly accepted: readonly string[];
  /** The recipients it refused, with its reply to each. */
  readonly rejected: readonly RejectedRecipient[];
  /** The queue id, when the final reply names one (Sendmail, Postfix, Exim forms). */
  readonly queueId?: string;
  /** The reply to the end of the data. */
  readonly reply: SmtpReply;
  /** Every command of the transaction with its reply, in order. */
  readonly replies: readonly CommandReply[];
}

/**
 * The server refused the message: its sender, every recipient (or one, with
 * `requireAllRecipients`), or the content. The session was reset and can send another.
 *
 * @example
 * ```ts
 * import { SmtpSendError } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const reply = { code: 550, enhancedCode: "5.1.1", lines: ["User unknown"] };
 * const error = new SmtpSendError("every recipient was refused", {
 *   reply,
 *   rejected: [{ address: "nobody@example.com", reply }],
 * });
 * assert.equal(error.code, "rejected");
 * assert.equal(error.rejected[0].address, "nobody@example.com");
 * ```
 */
export class SmtpSendError extends SmtpError {
  /** Recipients accepted before the refusal (the message was not sent to them either). */
  readonly accepted: readonly string[];
  /** Recipients refused. */
  readonly rejected: readonly RejectedRecipient[];
  /** The transaction so far. */
  readonly replies: readonly CommandReply[];

  /**
   * Creates the error, code `rejected`.
   *
   * @param message What was refused.
   * @param details The deciding reply and the transaction so far.
   */
  constructor(
    message: string,
    details: {
      reply?: SmtpReply;
      accepted?: readonly string[];
      rejected?: readonly RejectedRecipient[];
      replies?: readonly CommandReply[];
    } = {},
  ) {
    super("rejected", message, { reply: details.reply });
    this.name = "SmtpSendError";
    this.accepted = details.accepted ?? [];
    this.rejected = details.rejected ?? [];
    this.replies = details.replies ?? [];
  }
}
