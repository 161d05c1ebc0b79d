// An SmtpTransport over a nodemailer connection, so that @saslkit/smtp's own session and
// fallback policy run inside nodemailer's customAuth handler: every command line the session
// writes goes out through ctx.sendCommand (which nodemailer logs as "/* secret */"), and each
// reply comes back as the bytes the session reads. Internal to @saslkit/adapters.

import { SmtpError, type SmtpTransport } from "@saslkit/smtp";

/** What the bridge needs of nodemailer's handler context. */
export interface CommandSender {
  sendCommand(cmd: string): Promise<{ readonly response: string }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * nodemailer hands a reply over as its lines joined by LF; the session reads CRLF-ended
 * lines. Control characters other than the line breaks are left to the session's parser.
 */
function replyBytes(response: string): Uint8Array {
  const lines = response.replace(/\r?\n$/, "").split(/\r?\n/);
  return encoder.encode(lines.map((line) => `${line}\r\n`).join(""));
}

/** The bridge: one per nodemailer connection, opened once. */
export class NodemailerBridge implements SmtpTransport {
  readonly secure: boolean;
  readonly #sender: CommandSender;
  readonly #replies: Uint8Array[] = [];
  #ehloReply: string | undefined;
  #partial = "";
  #closed = false;
  #waiter: (() => void) | undefined;
  #chain: Promise<void> = Promise.resolve();

  /**
   * @param sender nodemailer's context.
   * @param secure Whether nodemailer's socket is encrypted, as the caller knows it.
   * @param greeting What the session reads as the greeting (nodemailer has read the real one).
   * @param ehloReply The reply to the EHLO the handler has just sent; answers the session's
   * own EHLO without a second round trip.
   */
  constructor(sender: CommandSender, secure: boolean, greeting: string, ehloReply: string) {
    this.#sender = sender;
    this.secure = secure;
    this.#ehloReply = ehloReply;
    this.#replies.push(replyBytes(greeting));
  }

  /** Whether the bridge has been closed or aborted. */
  get closed(): boolean {
    return this.#closed;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#replies.length > 0) return Promise.resolve(this.#replies.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = () => {
        this.#waiter = undefined;
        resolve(this.#replies.shift() ?? null);
      };
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new SmtpError("connection-lost", "nodemailer's connection is closed"));
    }
    this.#partial += decoder.decode(data);
    let end: number;
    while ((end = this.#partial.indexOf("\r\n")) >= 0) {
      const line = this.#partial.slice(0, end);
      this.#partial = this.#partial.slice(end + 2);
      this.#chain = this.#chain.then(() => this.#command(line));
    }
    return Promise.resolve();
  }

  /** Ends the stream: a pending read gets `null`, as on a closed socket. */
  close(): void {
    this.#closed = true;
    this.#waiter?.();
  }

  async #command(line: string): Promise<void> {
    if (this.#closed) return;
    if (/^QUIT$/i.test(line)) {
      // The connection is nodemailer's: the session may leave it, never end it.
      this.#deliver("221 2.0.0 the connection stays with nodemailer");
      this.close();
      return;
    }
    if (this.#ehloReply !== undefined && /^EHLO /i.test(line)) {
      const reply = this.#ehloReply;
      this.#ehloReply = undefined;
      this.#deliver(reply);
      return;
    }
    let response: string;
    try {
      ({ response } = await this.#sender.sendCommand(line));
    } catch {
      this.close();
      return;
    }
    this.#deliver(response);
  }

  #deliver(response: string): void {
    if (this.#closed) return;
    this.#replies.push(replyBytes(response));
    this.#waiter?.();
  }
}
