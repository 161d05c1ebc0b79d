/**
 * One SMTP client session over any {@linkcode SmtpTransport}: greeting, EHLO, STARTTLS, AUTH
 * with any `@saslkit/sasl` client mechanism, and, once a mechanism has agreed on a security
 * layer, every later command and reply wrapped and framed as RFC 4422 §3.7 requires.
 *
 * @module
 */

import {
  type ClientMechanism,
  decodeBase64,
  encodeBase64,
  frame,
  FrameDecoder,
  type MechanismRegistry,
  type RedactionStep,
  SaslError,
  type SaslOutcome,
  type SecurityLayer,
} from "@saslkit/sasl";
import { parseEhlo, type SmtpCapabilities } from "./ehlo.ts";
import { SmtpError } from "./error.ts";
import { formatReply, ReplyParser, type SmtpReply } from "./reply.ts";
import type { SmtpTransport } from "./transport.ts";
import { describeChallenge, redactClientMessage, type TranscriptSink } from "./transcript.ts";
import { concat } from "./_bytes.ts";
import {
  type RejectedRecipient,
  type SendMailOptions,
  type SendMailResult,
  SmtpSendError,
} from "./mail.ts";
import { checkMessage, queueIdOf } from "./_mail.ts";

/** Options of {@linkcode SmtpSession.open}. */
export interface SmtpSessionOptions {
  /** How long to wait for each reply, in milliseconds. Default 30000. */
  readonly timeoutMs?: number;
  /** The longest reply line accepted. Default 4096 bytes. */
  readonly maxLineLength?: number;
  /** Receives the decoded, redacted transcript. */
  readonly transcript?: TranscriptSink;
}

/** Options of {@linkcode SmtpSession.authenticate}. */
export interface SessionAuthOptions {
  /**
   * Where the mechanism's transcript redaction is looked up; default `defaultRegistry` of
   * `@saslkit/sasl`. A mechanism it does not know is shown as `***`.
   */
  readonly registry?: MechanismRegistry;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF = encoder.encode("\r\n");
const MAX_SASL_ROUNDS = 16;

// A deadline never keeps a process alive by itself: an open transport does. (A transport
// that owns no socket, such as one over another client's connection, may be abandoned.)
function unref(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
  } else {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(
      timer as unknown as number,
    );
  }
}

function assertCommandText(text: string, what: string): void {
  if (/[\r\n]/.test(text)) {
    throw new SmtpError("invalid-argument", `${what} must not contain CR or LF`);
  }
}

/**
 * A client session. Create one with {@linkcode SmtpSession.open}.
 *
 * @example Sending a message after authenticating
 * ```ts ignore
 * import { connectTcp, SmtpSession } from "@saslkit/smtp";
 * import { DigestMd5Client } from "@saslkit/sasl";
 *
 * const transport = await connectTcp({ host: "mail.example.com", port: 587 });
 * const session = await SmtpSession.open(transport);
 * await session.ehlo("client.example.com");
 * await session.startTls("mail.example.com");
 * await session.ehlo("client.example.com");
 * await session.authenticate(new DigestMd5Client({
 *   username: "smtpuser", password: "secret", service: "smtp", host: "mail.example.com",
 * }));
 * await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "Subject: hi\r\n\r\nhello\r\n" });
 * await session.quit();
 * ```
 */
export class SmtpSession {
  /** The server's greeting. */
  readonly greeting: SmtpReply;
  readonly #transport: SmtpTransport;
  readonly #timeoutMs: number;
  readonly #maxLineLength: number;
  readonly #transcript?: TranscriptSink;
  #buffer: Uint8Array = new Uint8Array(0);
  #layer?: SecurityLayer;
  #frames?: FrameDecoder;
  #capabilities?: SmtpCapabilities;
  #authenticated?: SaslOutcome;
  #closed = false;
  #deadline = 0;

  private constructor(
    transport: SmtpTransport,
    greeting: SmtpReply,
    options: SmtpSessionOptions,
    buffer: Uint8Array,
  ) {
    this.#transport = transport;
    this.greeting = greeting;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxLineLength = options.maxLineLength ?? 4096;
    this.#transcript = options.transcript;
    this.#buffer = buffer;
  }

  /**
   * Reads the server's greeting and returns the session.
   *
   * @throws {SmtpError} `rejected` when the greeting is not 220, or a connection error.
   */
  static async open(
    transport: SmtpTransport,
    options: SmtpSessionOptions = {},
  ): Promise<SmtpSession> {
    const session = new SmtpSession(
      transport,
      { code: 0, lines: [] },
      options,
      new Uint8Array(0),
    );
    const greeting = await session.#readReply();
    (session as { greeting: SmtpReply }).greeting = greeting;
    if (greeting.code !== 220) {
      session.close();
      throw new SmtpError("rejected", `server refused the session: ${formatReply(greeting)}`, {
        reply: greeting,
      });
    }
    return session;
  }

  /** Whether the connection is encrypted with TLS. */
  get secure(): boolean {
    return this.#transport.secure;
  }

  /** The security layer in force since AUTH, if a mechanism negotiated one. */
  get securityLayer(): SecurityLayer | undefined {
    return this.#layer;
  }

  /** What the last EHLO reply said. */
  get capabilities(): SmtpCapabilities | undefined {
    return this.#capabilities;
  }

  /** The outcome of a successful AUTH, once there was one. */
  get authenticated(): SaslOutcome | undefined {
    return this.#authenticated;
  }

  /** Whether the session was closed, by either side. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The transport, for channel binding (`transport.channelBinding?.()`). */
  get transport(): SmtpTransport {
    return this.#transport;
  }

  /**
   * Sends EHLO and returns the server's capabilities.
   *
   * @param name This client's host name (a name, or an address literal like `[127.0.0.1]`).
   * @throws {SmtpError} `rejected` when the server refuses EHLO.
   */
  async ehlo(name: string): Promise<SmtpCapabilities> {
    assertCommandText(name, "the EHLO name");
    const reply = await this.command(`EHLO ${name}`);
    if (reply.code !== 250) {
      throw new SmtpError("rejected", `EHLO refused: ${formatReply(reply)}`, { reply });
    }
    this.#capabilities = parseEhlo(reply);
    return this.#capabilities;
  }

  /**
   * Sends STARTTLS and turns the connection into TLS. Send EHLO again afterwards: the server
   * forgets what it said before (RFC 3207 §4.2).
   *
   * @param servername The name to check the certificate against.
   * @throws {SmtpError} `tls` when the server refuses or the handshake fails.
   */
  async startTls(servername: string): Promise<void> {
    if (!this.#transport.startTls) {
      throw new SmtpError("tls", "this transport cannot start TLS");
    }
    if (this.#layer) throw new SmtpError("invalid-state", "STARTTLS after a SASL layer");
    const reply = await this.command("STARTTLS");
    if (reply.code !== 220) {
      throw new SmtpError("tls", `STARTTLS refused: ${formatReply(reply)}`, { reply });
    }
    if (this.#buffer.length > 0) {
      // Bytes after the 220 before the handshake would be an injection (CVE-2011-0411 style).
      this.close();
      throw new SmtpError("protocol", "the server sent data after its STARTTLS reply");
    }
    try {
      await this.#transport.startTls(servername);
    } catch (error) {
      this.close();
      throw error;
    }
    this.#capabilities = undefined;
  }

  /**
   * Runs AUTH with a SASL client mechanism (RFC 4954): the initial response where the
   * mechanism has one, each 334 challenge answered, `*` sent when saslkit's side fails, and
   * the mechanism's own check of the server before success is reported. A negotiated security
   * layer is installed at once, so the next command is already wrapped.
   *
   * @param mechanism A fresh client mechanism.
   * @param options Where the transcript finds the mechanism's redaction.
   * @throws {SmtpError} `auth-rejected` (see `reply`), `auth-client` (see `cause`, a
   * `SaslError`), or a connection error.
   */
  async authenticate(
    mechanism: ClientMechanism,
    options: SessionAuthOptions = {},
  ): Promise<SaslOutcome> {
    if (this.#authenticated) throw new SmtpError("invalid-state", "already authenticated");
    const name = mechanism.name;
    const redact = (message: Uint8Array, step: RedactionStep) =>
      redactClientMessage(name, message, step, options.registry);
    let initial: Uint8Array | undefined;
    try {
      initial = mechanism.start();
    } catch (error) {
      throw this.#clientError(name, error);
    }
    let pendingInitial: Uint8Array | undefined;
    let line = `AUTH ${name}`;
    let shown = line;
    if (initial !== undefined) {
      const encoded = initial.length === 0 ? "=" : encodeBase64(initial);
      // RFC 4954 §4: a command line is at most 12288 octets with AUTH; stay well inside it and
      // send a long initial response after an empty challenge instead.
      if (encoded.length <= 500) {
        line += ` ${encoded}`;
        shown += ` ${redact(initial, {})}`;
      } else {
        pendingInitial = initial;
      }
    }
    await this.#writeLine(line, shown);
    // No mechanism here needs more than a few round trips; a server that keeps challenging is
    // stopped rather than followed for ever.
    for (let round = 0;; round++) {
      const reply = await this.#readReply(true);
      if (reply.code === 334 && round >= MAX_SASL_ROUNDS) {
        await this.#cancel();
        throw new SmtpError(
          "auth-client",
          `AUTH ${name} cancelled by the client: more than ${MAX_SASL_ROUNDS} challenges`,
        );
      }
      if (reply.code === 334) {
        let challenge: Uint8Array;
        try {
          challenge = decodeBase64(reply.lines[0].trim());
        } catch (error) {
          await this.#cancel();
          throw this.#clientError(name, error);
        }
        this.#note("S", `334 ${describeChallenge(challenge)}`);
        let response: Uint8Array;
        let answered: Uint8Array | undefined; // the initial response, sent late
        if (pendingInitial && challenge.length === 0) {
          response = answered = pendingInitial;
          pendingInitial = undefined;
        } else {
          try {
            response = await mechanism.next(challenge);
          } catch (error) {
            await this.#cancel();
            throw this.#clientError(name, error);
          }
        }
        const step = answered === response ? {} : { lastChallenge: challenge };
        await this.#writeLine(encodeBase64(response), redact(response, step));
        continue;
      }
      if (this.#transcript) this.#note("S", formatReply(reply));
      if (reply.code === 235) {
        let outcome: SaslOutcome;
        try {
          outcome = mechanism.finish();
        } catch (error) {
          // The server thinks we are authenticated, but it never proved itself: this
          // connection must not carry mail.
          this.close();
          throw this.#clientError(name, error);
        }
        this.#authenticated = outcome;
        if (outcome.securityLayer) this.#installLayer(outcome.securityLayer);
        return outcome;
      }
      throw new SmtpError("auth-rejected", `AUTH ${name} failed: ${formatReply(reply)}`, {
        reply,
      });
    }
  }

  /**
   * Sends one command line and reads the reply, whatever its code.
   *
   * @throws {SmtpError} on CR/LF in `line`, or a connection or protocol error.
   */
  async command(line: string): Promise<SmtpReply> {
    assertCommandText(line, "a command");
    await this.#writeLine(line, line);
    const reply = await this.#readReply();
    return reply;
  }

  /**
   * Sends NOOP: a cheap proof that the connection, and its security layer, work.
   *
   * @throws {SmtpError} `rejected` when the reply is not 250.
   */
  async noop(): Promise<SmtpReply> {
    return this.#expect(await this.command("NOOP"), [250], "NOOP");
  }

  /**
   * Sends one message: MAIL FROM, RCPT TO for each recipient, DATA with dot-stuffing. Every
   * field is checked at run time, so a JavaScript caller gets a typed error, not a mangled
   * envelope: `to` may be one address, a comma-separated string or an array; a display name
   * (`"Fred" <fred@example.com>`) is read, and only the address goes into the envelope. Give
   * either `data` (the whole message, headers included) or `text` (and `subject`) to have the
   * headers built by {@linkcode buildMessage}.
   *
   * A recipient the server refuses is reported in `rejected` and the message still goes to the
   * others, unless `requireAllRecipients` is set. `BODY=8BITMIME` is declared for a non-ASCII
   * message when the server offers it; a non-ASCII address needs SMTPUTF8.
   *
   * @param message Envelope and content; see {@linkcode SendMailOptions}.
   * @returns Accepted and rejected recipients, the queue id and every reply.
   * @throws {SmtpSendError} `rejected` when the server refused the sender, every recipient (or
   * one, with `requireAllRecipients`), or the message; {@linkcode SmtpError} `invalid-argument`
   * for a bad field, `not-supported` for a non-ASCII address without SMTPUTF8, or a connection
   * error. After a refusal the session is reset (RSET) and can send another message.
   */
  async sendMail(message: SendMailOptions): Promise<SendMailResult> {
    const checked = checkMessage(message, this.#capabilities);
    const replies: { command: string; reply: SmtpReply }[] = [];
    const send = async (command: string): Promise<SmtpReply> => {
      const reply = await this.command(command);
      replies.push({ command, reply });
      return reply;
    };
    const accepted: string[] = [];
    const rejected: RejectedRecipient[] = [];
    const refuse = async (what: string, reply?: SmtpReply): Promise<never> => {
      if (!this.#closed) await this.command("RSET").catch(() => undefined);
      throw new SmtpSendError(what, { reply, accepted, rejected, replies });
    };
    const mail = await send(`MAIL FROM:<${checked.from}>${checked.parameters}`);
    if (mail.code !== 250) await refuse(`MAIL FROM refused: ${formatReply(mail)}`, mail);
    for (const to of checked.recipients) {
      const reply = await send(`RCPT TO:<${to}>`);
      if (reply.code === 250 || reply.code === 251) accepted.push(to);
      else rejected.push({ address: to, reply });
    }
    if (accepted.length === 0) {
      await refuse(
        `every recipient was refused: ${rejected.map((r) => formatReply(r.reply))[0]}`,
        rejected[0]?.reply,
      );
    }
    if (rejected.length > 0 && checked.requireAllRecipients) {
      await refuse(
        `${rejected.length} of ${checked.recipients.length} recipients refused ` +
          `(requireAllRecipients): ${formatReply(rejected[0].reply)}`,
        rejected[0].reply,
      );
    }
    const data = await send("DATA");
    if (data.code !== 354) await refuse(`DATA refused: ${formatReply(data)}`, data);
    const { bytes, lines } = dotStuff(checked.data);
    await this.#write(bytes);
    this.#note("C", `(message, ${lines} lines)`);
    this.#note("C", ".");
    const final = await this.#readReply();
    replies.push({ command: ".", reply: final });
    if (final.code !== 250) await refuse(`the message was refused: ${formatReply(final)}`, final);
    return { accepted, rejected, queueId: queueIdOf(final), reply: final, replies };
  }

  /** Sends QUIT and closes the connection; never throws. */
  async quit(): Promise<void> {
    try {
      if (!this.#closed) await this.command("QUIT");
    } catch {
      // The server may close first; the session is over either way.
    }
    this.close();
  }

  /** Closes the connection at once. */
  close(): void {
    this.#closed = true;
    this.#transport.close();
  }

  #expect(reply: SmtpReply, codes: readonly number[], what: string): SmtpReply {
    if (!codes.includes(reply.code)) {
      throw new SmtpError("rejected", `${what} refused: ${formatReply(reply)}`, { reply });
    }
    return reply;
  }

  #clientError(mechanism: string, error: unknown): SmtpError {
    const reason = error instanceof SaslError ? `${error.code}: ${error.message}` : String(error);
    return new SmtpError("auth-client", `AUTH ${mechanism} cancelled by the client: ${reason}`, {
      cause: error,
    });
  }

  async #cancel(): Promise<void> {
    try {
      await this.#writeLine("*", "*");
      await this.#readReply();
    } catch {
      // The exchange failed already; a server that does not answer the cancel changes nothing.
    }
  }

  #installLayer(layer: SecurityLayer): void {
    if (!(layer.maxPlaintextSize >= 1)) {
      this.close();
      throw new SmtpError(
        "protocol",
        "the negotiated security layer leaves no room for data (the server's maxbuf is too small)",
      );
    }
    try {
      // Frames shorter than the layer's shortest buffer are refused as they are cut.
      const max = layer.maxIncomingSize;
      this.#frames = new FrameDecoder(max, Math.min(layer.minIncomingSize ?? 1, max));
    } catch (error) {
      this.close();
      throw new SmtpError("protocol", `unusable security layer: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#layer = layer;
    // Anything already read after the 235 line belongs to the layer.
    const pending = this.#buffer;
    this.#buffer = new Uint8Array(0);
    if (pending.length > 0) this.#absorb(pending);
  }

  #absorb(chunk: Uint8Array): void {
    let plain = chunk;
    if (this.#layer) {
      // Each frame is unwrapped as soon as it is cut: the first bad one ends the session
      // before the rest of the chunk is looked at, and the frames before it are not lost.
      const layer = this.#layer;
      const frames = this.#frames!;
      const pieces: Uint8Array[] = [];
      try {
        frames.append(chunk);
        for (let buffer = frames.next(); buffer !== undefined; buffer = frames.next()) {
          pieces.push(layer.unwrap(buffer));
        }
      } catch (error) {
        this.close();
        throw new SmtpError("protocol", `security layer failure: ${(error as Error).message}`, {
          cause: error,
        });
      }
      plain = pieces.length === 1 ? pieces[0] : concat(pieces);
    }
    if (plain.length === 0) return;
    this.#buffer = this.#buffer.length ? concat([this.#buffer, plain]) : plain;
  }

  async #readLine(): Promise<string> {
    for (;;) {
      const newline = this.#buffer.indexOf(10);
      if (newline > this.#maxLineLength) {
        this.close();
        throw new SmtpError("protocol", `reply line longer than ${this.#maxLineLength} bytes`);
      }
      if (newline >= 0) {
        const end = newline > 0 && this.#buffer[newline - 1] === 13 ? newline - 1 : newline;
        const line = decoder.decode(this.#buffer.subarray(0, end));
        // A view, not a copy: a chunk of many lines is not copied once per line.
        this.#buffer = this.#buffer.subarray(newline + 1);
        return line;
      }
      if (this.#buffer.length > this.#maxLineLength) {
        this.close();
        throw new SmtpError("protocol", `reply line longer than ${this.#maxLineLength} bytes`);
      }
      const chunk = await this.#readChunk();
      if (chunk === null) {
        this.#closed = true;
        throw new SmtpError("connection-lost", "the server closed the connection");
      }
      this.#absorb(chunk);
    }
  }

  async #readChunk(): Promise<Uint8Array | null> {
    if (this.#closed) throw new SmtpError("connection-lost", "the session is closed");
    return await this.#withDeadline(
      this.#transport.read(),
      `no reply within ${this.#timeoutMs} ms`,
    );
  }

  // Each reply, and each write, must finish within timeoutMs: a server that trickles bytes or
  // stops reading cannot hold the session forever.
  async #withDeadline<T>(work: Promise<T>, message: string): Promise<T> {
    const remaining = Math.max(0, this.#deadline - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SmtpError("timeout", message)), remaining);
      unref(timer);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #readReply(quiet = false): Promise<SmtpReply> {
    this.#deadline = Date.now() + this.#timeoutMs;
    const parser = new ReplyParser();
    for (;;) {
      const line = await this.#readLine();
      let reply: SmtpReply | undefined;
      try {
        reply = parser.push(line);
      } catch (error) {
        this.close();
        throw error;
      }
      if (reply) {
        // Formatting escapes every character of the reply: done only for a sink that reads it.
        if (!quiet && this.#transcript) this.#note("S", formatReply(reply));
        return reply;
      }
    }
  }

  async #writeLine(line: string, shown: string): Promise<void> {
    this.#note("C", shown);
    await this.#write(concat([encoder.encode(line), CRLF]));
  }

  async #write(data: Uint8Array): Promise<void> {
    if (this.#closed) throw new SmtpError("connection-lost", "the session is closed");
    let wire = data;
    if (this.#layer) {
      try {
        const max = this.#layer.maxPlaintextSize;
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < data.length; i += max) {
          pieces.push(frame(this.#layer.wrap(data.subarray(i, i + max))));
        }
        wire = concat(pieces);
      } catch (error) {
        this.close();
        throw new SmtpError("protocol", `security layer failure: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    this.#deadline = Date.now() + this.#timeoutMs;
    try {
      await this.#withDeadline(
        this.#transport.write(wire),
        `the server did not take ${wire.length} bytes within ${this.#timeoutMs} ms`,
      );
    } catch (error) {
      this.close();
      if (error instanceof SmtpError) throw error;
      throw new SmtpError("connection-lost", "write failed", { cause: error });
    }
  }

  #note(direction: "C" | "S", text: string): void {
    this.#transcript?.({ direction, text, layered: this.#layer !== undefined });
  }
}

/**
 * Puts a message into DATA form: every line ending CRLF (a lone CR or LF is one, so that no
 * `<CR>.<CR><LF>` can end the data early: SMTP smuggling), a leading dot doubled, and the
 * terminating `.` line. Bytes are kept as they are; a string is sent as UTF-8.
 */
function dotStuff(data: string | Uint8Array): { bytes: Uint8Array; lines: number } {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  // At worst every byte is a lone CR or LF that becomes CRLF, plus a final CRLF and ".\r\n".
  const out = new Uint8Array(bytes.length * 2 + 5);
  let length = 0;
  let lines = 0;
  let atLineStart = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 13 || b === 10) {
      if (b === 13 && bytes[i + 1] === 10) i++;
      out[length++] = 13;
      out[length++] = 10;
      lines++;
      atLineStart = true;
      continue;
    }
    if (atLineStart && b === 46) out[length++] = 46;
    out[length++] = b;
    atLineStart = false;
  }
  if (!atLineStart) {
    out[length++] = 13;
    out[length++] = 10;
    lines++;
  }
  out[length++] = 46;
  out[length++] = 13;
  out[length++] = 10;
  return { bytes: out.subarray(0, length), lines };
}
