// One SMTP connection of the test server: line reading, commands, the AUTH exchange, and the
// SASL security layer that follows it, with the replies Sendmail 8.17 gives.

import type { Socket } from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import {
  decodeBase64,
  encodeBase64,
  frame,
  FrameDecoder,
  type Qop,
  SaslError,
  type SecurityLayer,
  type ServerMechanism,
  type ServerStep,
} from "@saslkit/sasl";
import type { ReceivedMessage, TranscriptLine } from "./types.ts";
import type { ResolvedOptions } from "./options.ts";
import {
  createMechanism,
  falsifyProof,
  printable,
  serverDescriptor,
  showResponse,
} from "./sasl.ts";
import { concat, escapeControls } from "../_bytes.ts";
import { channelBindingsOf } from "../_channel_bindings.ts";

/** What a connection needs from the server that owns it. */
export interface ConnectionContext {
  readonly id: number;
  readonly options: ResolvedOptions;
  record(entry: Omit<TranscriptLine, "connection">): void;
  deliver(message: Omit<ReceivedMessage, "connection">): void;
  /** Whether this AUTH attempt is one of the temporary failures still owed. */
  takeTempFailure(mechanism: string): boolean;
  queueId(): string;
  /** Registers the TLS socket that replaces the plain one, so that close() can end it. */
  track(socket: Socket): void;
}

// RFC 5321 §4.5.3.1 allows 512 octets; Sendmail accepts more, and so do we, up to this.
const MAX_COMMAND_LINE = 4096;
// RFC 4954 §4: an AUTH command or response line may be 12288 octets.
const MAX_AUTH_LINE = 12288;
// Beyond this without a line end the client is not speaking SMTP: reply and hang up.
const MAX_PENDING_COMMAND = 65536;
// RFC 5321 §4.5.3.1.6 limits a text line to 1000 octets with CRLF; real clients exceed it, and
// so do some tests, up to this many octets without the CRLF. A longer DATA line gets
// "500 5.5.2 Line too long" and the connection is closed, as soon as the line passes the limit
// (inside DATA there is no line boundary to resume at).
const MAX_DATA_LINE = 65536;
const MAX_RECIPIENTS = 100;
// After the server hangs up (FIN), how long to wait for the client's FIN before a hard close.
const LINGER_MS = 1000;

const EMPTY = new Uint8Array(0);
const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Mode = "command" | "auth" | "auth-final" | "data" | "closed";

interface Exchange {
  readonly name: string;
  readonly mechanism: ServerMechanism;
  /** The last challenge sent; tells the transcript which LOGIN answer is a password. */
  lastChallenge?: Uint8Array;
  answered: boolean;
}

interface Authenticated {
  readonly user: string;
  readonly mechanism: string;
  readonly qop: Qop;
}

function tryDecodeBase64(text: string): Uint8Array | undefined {
  try {
    return decodeBase64(text);
  } catch {
    return undefined;
  }
}

/**
 * Cuts lines (ending in LF, a CR before it removed) out of chunks as they arrive. A partial
 * line is kept as a list of chunks and joined once, when its LF comes, and each byte is
 * searched for LF once: a line sent a byte at a time costs what it costs in one piece.
 */
export class LineReader {
  #parts: Uint8Array[] = [];
  #size = 0;
  // How many of #parts are known to hold no LF.
  #scanned = 0;
  /** Bytes copied to join partial lines, so far: for the tests that prove the work linear. */
  copied = 0;

  /** Bytes received and not yet returned in a line. */
  get pendingLength(): number {
    return this.#size;
  }

  /** Adds a chunk; it is kept, not copied, so the caller must not reuse it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#parts.push(chunk);
    this.#size += chunk.length;
  }

  /** The next whole line without its line end, or `undefined` until its LF arrives. */
  next(): Uint8Array | undefined {
    const parts = this.#parts;
    for (let k = this.#scanned; k < parts.length; k++) {
      const lf = parts[k].indexOf(10);
      if (lf < 0) {
        this.#scanned = k + 1;
        continue;
      }
      let line: Uint8Array;
      if (k === 0) {
        line = parts[0].subarray(0, lf);
      } else {
        line = concat([...parts.slice(0, k), parts[k].subarray(0, lf)]);
        this.copied += line.length;
      }
      const rest = parts[k].subarray(lf + 1);
      this.#parts = rest.length > 0 ? [rest, ...parts.slice(k + 1)] : parts.slice(k + 1);
      this.#size -= line.length + 1;
      this.#scanned = 0;
      return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line;
    }
    return undefined;
  }

  /** Removes and returns everything pending, as one array. */
  takeRest(): Uint8Array {
    const rest = this.#parts.length === 1 ? this.#parts[0] : concat(this.#parts);
    this.clear();
    return rest;
  }

  /** Forgets everything pending. */
  clear(): void {
    this.#parts = [];
    this.#size = 0;
    this.#scanned = 0;
  }
}

// The common name of a client certificate that the server's clientCa signed and that is valid
// now, for EXTERNAL. Checked here, because a TLSSocket made from a plain socket (STARTTLS) never
// sets `authorized`.
function certificateIdentity(
  socket: tls.TLSSocket,
  clientCa: string | undefined,
): string | undefined {
  const raw = clientCa === undefined ? undefined : socket.getPeerCertificate(true)?.raw;
  if (!raw || raw.length === 0) return undefined;
  try {
    const peer = new X509Certificate(raw);
    const issuer = new X509Certificate(clientCa!);
    const now = Date.now();
    if (!peer.checkIssued(issuer) || !peer.verify(issuer.publicKey)) return undefined;
    if (now < Date.parse(peer.validFrom) || now > Date.parse(peer.validTo)) return undefined;
    const cn = /^CN=(.+)$/m.exec(peer.subject)?.[1];
    return cn === undefined || cn === "" ? undefined : cn;
  } catch {
    return undefined;
  }
}

/** Serves one accepted socket until either side closes it. */
export class Connection {
  readonly #context: ConnectionContext;
  readonly #options: ResolvedOptions;
  #socket: Socket;
  #mode: Mode = "command";
  readonly #lines = new LineReader();
  #layer?: SecurityLayer;
  #frames?: FrameDecoder;
  // Set by the 235 that installs a layer: bytes already read after it belong to the layer.
  #layerStarts = false;
  // Set by the 220 of STARTTLS: bytes already read after it are discarded (RFC 3207 §4.2).
  #tlsStarts = false;
  // A server mechanism is computing its answer: input waits in #lines.
  #waiting = false;
  #tls = false;
  #helo?: string;
  #esmtp = false;
  #authenticated?: Authenticated;
  #exchange?: Exchange;
  #dropAtNextCommand = false;
  #from?: string;
  #to: string[] = [];
  #data: Uint8Array[] = [];
  #dataSize = 0;
  #dataTooBig = false;

  constructor(socket: Socket, context: ConnectionContext) {
    this.#context = context;
    this.#options = context.options;
    this.#socket = socket;
    this.#attach(socket);
    this.#send([`220 ${this.#options.domain} ESMTP`]);
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#receive(chunk));
    socket.on("error", (error: Error) => {
      if (!this.#closed()) this.#event(`socket error: ${error.message}`);
    });
    socket.on("close", () => {
      if (this.#closed()) return;
      this.#event("connection closed by the client");
      this.#mode = "closed";
    });
    socket.setTimeout(this.#options.idleTimeoutMs, () => this.#timeout());
  }

  // ---- input ------------------------------------------------------------------------------

  #receive(chunk: Uint8Array): void {
    if (this.#closed()) return;
    try {
      if (this.#frames) this.#receiveLayered(chunk);
      else this.#receivePlain(chunk);
    } catch (error) {
      // A bug here must not take the test process down with an uncaught exception.
      this.#event(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      this.#send(["421 4.3.0 Internal error"]);
      this.#hangUp();
    }
  }

  #receiveLayered(chunk: Uint8Array): void {
    if (this.#closed()) return;
    const frames = this.#frames!;
    // Whether the stream stands between frames: then a refused length is this chunk's start.
    const atBoundary = frames.pendingLength === 0;
    frames.append(chunk);
    // Each frame is unwrapped, and its commands served, as soon as it is cut: the first bad
    // one ends the connection before the rest of the chunk is looked at.
    for (let first = true;; first = false) {
      let buffer: Uint8Array | undefined;
      try {
        buffer = frames.next();
      } catch (error) {
        // Sendmail logs "encoded packet size too big (1296124236 > 8192)", "AUTH: sasl_decode
        // error=-1" and "lost input channel ... after auth", and sends nothing more.
        const message = error instanceof Error ? error.message : String(error);
        const head = first && atBoundary && chunk.length >= 4
          ? ` (the bytes "${printable(chunk.subarray(0, 4))}" read as a length)`
          : "";
        this.#event(`AUTH: sasl_decode error: ${message}${head}`);
        this.#drop("lost input channel after auth");
        return;
      }
      if (buffer === undefined) return;
      let plaintext: Uint8Array;
      try {
        plaintext = this.#layer!.unwrap(buffer);
      } catch (error) {
        const code = error instanceof SaslError ? error.code : String(error);
        this.#event(`AUTH: sasl_decode error: ${code}`);
        this.#drop("lost input channel after auth");
        return;
      }
      this.#receivePlain(plaintext);
      if (this.#closed()) return;
    }
  }

  #receivePlain(bytes: Uint8Array): void {
    const lines = this.#lines;
    lines.push(bytes);
    while (!this.#closed() && !this.#waiting) {
      const line = lines.next();
      if (line === undefined) {
        this.#checkPending();
        return;
      }
      this.#line(line);
      if (this.#layerStarts) {
        this.#layerStarts = false;
        const rest = lines.takeRest();
        if (rest.length > 0) this.#receiveLayered(rest);
        return;
      }
      if (this.#tlsStarts) {
        this.#tlsStarts = false;
        lines.clear();
        this.#startTls();
        return;
      }
    }
  }

  #checkPending(): void {
    const pending = this.#lines.pendingLength;
    if (this.#mode === "data") {
      // The limit is on the line without its CRLF; a CR may wait for its LF.
      if (pending > MAX_DATA_LINE + 1) this.#dataLineTooLong(pending);
      return;
    }
    if (pending > MAX_PENDING_COMMAND) {
      this.#event(`line of more than ${pending} bytes without a line end`);
      this.#send(["500 5.5.2 Line too long"]);
      this.#drop("connection closed: line too long");
    }
  }

  #dataLineTooLong(length: number): void {
    this.#event(`message line of ${length} bytes, over ${MAX_DATA_LINE}`);
    this.#send(["500 5.5.2 Line too long"]);
    this.#drop("connection closed: message line too long");
  }

  #line(bytes: Uint8Array): void {
    if (this.#mode === "data") return this.#dataLine(bytes);
    const isAuth = this.#mode !== "command" || /^auth /i.test(decoder.decode(bytes.subarray(0, 5)));
    if (bytes.length > (isAuth ? MAX_AUTH_LINE : MAX_COMMAND_LINE)) {
      this.#record("C", `<line of ${bytes.length} bytes>`);
      if (this.#mode !== "command") this.#endExchange();
      return this.#send(["500 5.5.2 Line too long"]);
    }
    const text = decoder.decode(bytes);
    if (this.#mode === "auth" || this.#mode === "auth-final") return this.#authResponse(text);
    this.#command(text);
  }

  // ---- commands -----------------------------------------------------------------------------

  #command(line: string): void {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? "" : line.slice(space + 1).trim();
    this.#record("C", verb === "AUTH" ? this.#showAuthCommand(args) : escapeControls(line));
    if (this.#dropAtNextCommand) {
      return this.#drop("connection closed after AUTH (behaviour.dropAfterAuth)");
    }
    switch (verb) {
      case "EHLO":
      case "HELO":
        return this.#hello(verb, args);
      case "AUTH":
        return this.#auth(args);
      case "MAIL":
        return this.#mail(args);
      case "RCPT":
        return this.#rcpt(args);
      case "DATA":
        return this.#dataCommand();
      case "RSET":
        this.#resetTransaction();
        return this.#send(["250 2.0.0 Reset state"]);
      case "NOOP":
        return this.#send(["250 2.0.0 OK"]);
      case "VRFY":
        return this.#send(["252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery"]);
      case "HELP":
        return this.#send(["214 2.0.0 saslkit test server; see RFC 5321 and RFC 4954"]);
      case "QUIT":
        this.#send([`221 2.0.0 ${this.#options.domain} closing connection`]);
        this.#mode = "closed";
        return this.#hangUp();
      case "STARTTLS":
        if (this.#options.tls) return this.#startTlsCommand(args);
        break;
    }
    this.#send([`500 5.5.1 Command unrecognized: "${line}"`]);
  }

  #hello(verb: string, args: string): void {
    if (args === "") return this.#send([`501 5.0.0 ${verb} requires domain address`]);
    this.#resetTransaction();
    this.#helo = args;
    this.#esmtp = verb === "EHLO";
    const greeting = `${this.#options.domain} Hello ${args}, pleased to meet you`;
    if (!this.#esmtp) return this.#send([`250 ${greeting}`]);
    const lines = [
      greeting,
      "ENHANCEDSTATUSCODES",
      "PIPELINING",
      "8BITMIME",
      `SIZE ${this.#options.maxMessageSize}`,
    ];
    const mechanisms = this.#options.mechanisms.join(" ");
    if (mechanisms !== "" && !this.#authenticated) {
      lines.push(`AUTH ${mechanisms}`);
      if (this.#options.authEqualsForm) lines.push(`AUTH=${mechanisms}`);
    }
    if (this.#options.tls && !this.#tls && !this.#authenticated) lines.push("STARTTLS");
    lines.push("HELP");
    this.#send(lines.map((text, i) => `250${i === lines.length - 1 ? " " : "-"}${text}`));
  }

  #mail(args: string): void {
    if (this.#helo === undefined) return this.#send(["503 5.0.0 Polite people say HELO first"]);
    if (this.#options.requireAuth && !this.#authenticated) {
      return this.#send(["530 5.7.0 Authentication required"]);
    }
    if (this.#from !== undefined) return this.#send(["503 5.5.0 Sender already specified"]);
    const match = /^FROM:\s*<([^<>]*)>(?:\s+(.*))?$/i.exec(args);
    if (!match) return this.#send([`501 5.5.2 Syntax error in parameters scanning "FROM"`]);
    for (const parameter of (match[2] ?? "").split(/\s+/).filter(Boolean)) {
      const equals = parameter.indexOf("=");
      const key = (equals < 0 ? parameter : parameter.slice(0, equals)).toUpperCase();
      const value = equals < 0 ? "" : parameter.slice(equals + 1);
      if (key === "SIZE") {
        if (!/^\d{1,15}$/.test(value)) return this.#send(["501 5.5.4 Invalid SIZE parameter"]);
        if (Number(value) > this.#options.maxMessageSize) {
          return this.#send(["552 5.3.4 Message size exceeds fixed maximum message size"]);
        }
      } else if (key === "BODY") {
        if (!/^(7BIT|8BITMIME)$/i.test(value)) {
          return this.#send([`501 5.5.4 Unknown BODY type ${value}`]);
        }
      } else if (key !== "AUTH") {
        return this.#send([`555 5.5.4 ${key} parameter unrecognized`]);
      }
    }
    this.#from = match[1];
    this.#send([`250 2.1.0 <${this.#from}>... Sender ok`]);
  }

  #rcpt(args: string): void {
    if (this.#from === undefined) return this.#send(["503 5.0.0 Need MAIL before RCPT"]);
    const match = /^TO:\s*<([^<>]+)>(?:\s+.*)?$/i.exec(args);
    if (!match) return this.#send([`501 5.5.2 Syntax error in parameters scanning "TO"`]);
    if (this.#to.length >= MAX_RECIPIENTS) return this.#send(["452 4.5.3 Too many recipients"]);
    this.#to.push(match[1]);
    this.#send([`250 2.1.5 <${match[1]}>... Recipient ok`]);
  }

  #dataCommand(): void {
    if (this.#from === undefined) return this.#send(["503 5.0.0 Need MAIL command"]);
    if (this.#to.length === 0) return this.#send(["503 5.0.0 Need RCPT (recipient)"]);
    this.#mode = "data";
    this.#send([`354 Enter mail, end with "." on a line by itself`]);
  }

  #dataLine(bytes: Uint8Array): void {
    if (bytes.length === 1 && bytes[0] === 0x2e) return this.#endData();
    if (bytes.length > MAX_DATA_LINE) return this.#dataLineTooLong(bytes.length);
    this.#record("C", printable(bytes));
    const content = bytes[0] === 0x2e ? bytes.subarray(1) : bytes;
    this.#dataSize += content.length + 2;
    if (this.#dataSize > this.#options.maxMessageSize) {
      this.#dataTooBig = true;
      this.#data = [];
      return;
    }
    this.#data.push(content.slice(), CRLF);
  }

  #endData(): void {
    this.#record("C", ".");
    this.#mode = "command";
    if (this.#dataTooBig) {
      this.#resetTransaction();
      return this.#send(["552 5.3.4 Message size exceeds fixed maximum message size"]);
    }
    const id = this.#context.queueId();
    const auth = this.#authenticated;
    this.#context.deliver({
      from: this.#from!,
      to: [...this.#to],
      data: decoder.decode(concat(this.#data)),
      authenticatedAs: auth?.user,
      mechanism: auth?.mechanism,
      qop: auth?.qop,
      tls: this.#tls,
    });
    this.#resetTransaction();
    this.#send([`250 2.0.0 ${id} Message accepted for delivery`]);
  }

  #resetTransaction(): void {
    this.#from = undefined;
    this.#to = [];
    this.#data = [];
    this.#dataSize = 0;
    this.#dataTooBig = false;
  }

  // ---- AUTH ---------------------------------------------------------------------------------

  #showAuthCommand(args: string): string {
    const parts = args.split(/\s+/).filter(Boolean);
    if (parts.length > 2) return "AUTH <malformed>";
    const name = parts[0]?.toUpperCase() ?? "";
    if (parts.length < 2) return `AUTH ${name}`.trimEnd();
    if (parts[1] === "=") return `AUTH ${name} =`;
    const bytes = tryDecodeBase64(parts[1]);
    const shown = bytes ? showResponse(name, bytes, undefined) : "<invalid base64>";
    return `AUTH ${name} ${shown}`;
  }

  #auth(args: string): void {
    const { behaviour, mechanisms } = this.#options;
    if (!this.#esmtp || mechanisms.length === 0) {
      return this.#send(["503 5.3.3 AUTH not available"]);
    }
    if (this.#authenticated) return this.#send(["503 5.5.1 Already authenticated"]);
    if (this.#from !== undefined) {
      return this.#send(["503 5.5.1 AUTH not permitted during a mail transaction"]);
    }
    const parts = args.split(/\s+/).filter(Boolean);
    if (parts.length === 0) return this.#send(["501 5.5.2 AUTH mechanism must be specified"]);
    if (parts.length > 2) return this.#send(["501 5.5.2 Syntax error in AUTH parameters"]);
    const name = parts[0].toUpperCase();
    if (!mechanisms.includes(name)) {
      return this.#send([`504 5.3.3 AUTH mechanism ${name} not available`]);
    }
    const descriptor = serverDescriptor(name);
    if (behaviour.rejectAdvertised.has(name) || descriptor === undefined) {
      return this.#send(["504 5.5.4 Unrecognized authentication type"]);
    }
    if (behaviour.tooWeak.has(name)) {
      return this.#send(["534 5.7.9 Authentication mechanism is too weak"]);
    }
    if (this.#context.takeTempFailure(name)) {
      return this.#send(["454 4.7.0 Temporary authentication failure"]);
    }
    let initial: Uint8Array | undefined;
    if (parts.length === 2) {
      if (behaviour.dropDuringAuth.has(name)) {
        return this.#drop("connection dropped during AUTH (behaviour.dropDuringAuth)");
      }
      initial = parts[1] === "=" ? EMPTY : tryDecodeBase64(parts[1]);
      if (initial === undefined) return this.#send(["501 5.5.2 Cannot decode AUTH parameter"]);
    }
    let mechanism: ServerMechanism;
    try {
      mechanism = createMechanism(descriptor, this.#options, {
        secure: this.#tls,
        channelBindings: this.#tls
          ? channelBindingsOf(this.#socket as tls.TLSSocket, "server")
          : {},
        externalIdentity: this.#tls
          ? certificateIdentity(this.#socket as tls.TLSSocket, this.#options.tls?.clientCa)
          : undefined,
      });
    } catch (error) {
      if (!(error instanceof SaslError)) throw error;
      this.#event(`AUTH ${name} cannot be served: ${error.message}`);
      return this.#send(["504 5.5.4 Unrecognized authentication type"]);
    }
    this.#exchange = { name, mechanism, answered: initial !== undefined };
    this.#step(initial);
  }

  #step(response: Uint8Array | undefined): void {
    const exchange = this.#exchange!;
    let step: ServerStep | Promise<ServerStep>;
    try {
      step = exchange.mechanism.next(response);
    } catch (error) {
      return this.#stepFailed(exchange, error);
    }
    if (!(step instanceof Promise)) return this.#stepDone(step);
    // A mechanism that derives keys answers later: no further line is read until it has.
    this.#waiting = true;
    this.#socket.pause();
    step.then(
      (done) => this.#stepDone(done),
      (error) => this.#stepFailed(exchange, error),
    ).catch((error) => this.#event(`internal error: ${String(error)}`)).finally(() => {
      this.#waiting = false;
      if (this.#closed()) return;
      this.#socket.resume();
      this.#receivePlain(EMPTY);
    });
  }

  #stepFailed(exchange: Exchange, error: unknown): void {
    if (!(error instanceof SaslError)) throw error;
    if (this.#closed()) return;
    this.#endExchange();
    // SaslError messages carry no secrets; Sendmail logs a line like this one.
    this.#event(`AUTH failure (${exchange.name}): ${error.code}: ${error.message}`);
    this.#send(["535 5.7.8 Authentication credentials invalid"]);
  }

  #stepDone(step: ServerStep): void {
    if (this.#closed()) return;
    if (!step.done) return this.#challenge(step.challenge ?? EMPTY, "auth");
    if (step.challenge && step.challenge.length > 0) {
      // SMTP has no success data: it goes out as one more challenge (RFC 4954 §4).
      const data = this.#options.behaviour.wrongRspauth
        ? falsifyProof(step.challenge)
        : step.challenge;
      return this.#challenge(data, "auth-final");
    }
    this.#succeed();
  }

  #challenge(challenge: Uint8Array, mode: "auth" | "auth-final"): void {
    const shown = printable(challenge);
    this.#exchange!.lastChallenge = challenge;
    this.#mode = mode;
    this.#send([`334 ${encodeBase64(challenge)}`], [`334 ${shown}`]);
  }

  #authResponse(line: string): void {
    const exchange = this.#exchange!;
    const bytes = line === "*" ? undefined : tryDecodeBase64(line);
    const shown = line === "*"
      ? "*"
      : bytes
      ? showResponse(exchange.name, bytes, exchange.lastChallenge)
      : "<invalid base64>";
    this.#record("C", shown);
    if (!exchange.answered && this.#options.behaviour.dropDuringAuth.has(exchange.name)) {
      return this.#drop("connection dropped during AUTH (behaviour.dropDuringAuth)");
    }
    exchange.answered = true;
    if (line === "*") {
      this.#endExchange();
      return this.#send(["501 5.0.0 AUTH aborted"]);
    }
    if (bytes === undefined) {
      this.#endExchange();
      return this.#send(["501 5.5.2 Invalid base64 in AUTH response"]);
    }
    if (this.#mode === "auth-final") {
      if (bytes.length === 0) return this.#succeed();
      this.#endExchange();
      this.#event(`AUTH failure (${exchange.name}): data where an empty response was due`);
      return this.#send(["535 5.7.8 Authentication credentials invalid"]);
    }
    this.#step(bytes);
  }

  #endExchange(): void {
    this.#exchange = undefined;
    this.#mode = "command";
  }

  #succeed(): void {
    const exchange = this.#exchange!;
    const outcome = exchange.mechanism.outcome();
    this.#endExchange();
    this.#authenticated = {
      user: outcome.authorizationId ?? outcome.authenticationId ?? "",
      mechanism: exchange.name,
      qop: outcome.qop,
    };
    this.#send(["235 2.0.0 OK Authenticated"]);
    const layer = outcome.securityLayer;
    if (layer) {
      const what = `${layer.qop}${layer.cipher ? ` (${layer.cipher})` : ""}`;
      if (this.#options.behaviour.ignoreLayer) {
        this.#event(`security layer ${what} agreed but ignored (behaviour.ignoreLayer)`);
      } else {
        // From the byte after this 235's CRLF on, both directions go through the layer.
        this.#layer = layer;
        // Frames shorter than any buffer of the layer are refused by their length alone.
        const maxbuf = this.#options.maxbuf;
        this.#frames = new FrameDecoder(maxbuf, Math.min(layer.minIncomingSize ?? 1, maxbuf));
        this.#layerStarts = true;
        this.#event(`security layer ${what} in effect`);
      }
    }
    if (this.#options.behaviour.dropAfterAuth.has(exchange.name)) this.#dropAtNextCommand = true;
  }

  // ---- STARTTLS -----------------------------------------------------------------------------

  #startTlsCommand(args: string): void {
    if (args !== "") return this.#send(["501 5.5.4 Syntax error (no parameters allowed)"]);
    if (this.#tls) return this.#send(["503 5.5.0 TLS already active"]);
    if (this.#authenticated) return this.#send(["503 5.5.0 STARTTLS not allowed after AUTH"]);
    this.#send(["220 2.0.0 Ready to start TLS"]);
    this.#tlsStarts = true;
  }

  #startTls(): void {
    const plain = this.#socket;
    const { key, cert, clientCa } = this.#options.tls!;
    plain.removeAllListeners("data");
    plain.setTimeout(0);
    // A client certificate is asked for, never required: a client without one still talks TLS,
    // and only EXTERNAL depends on it.
    const secure = new tls.TLSSocket(plain, {
      isServer: true,
      secureContext: tls.createSecureContext({ key, cert, ca: clientCa }),
      requestCert: clientCa !== undefined,
      rejectUnauthorized: false,
    });
    this.#context.track(secure);
    // RFC 3207 §4.2: the session starts over, as if just connected.
    this.#tls = true;
    this.#helo = undefined;
    this.#esmtp = false;
    this.#resetTransaction();
    this.#event("TLS started");
    this.#attach(secure);
  }

  // ---- output and closing -------------------------------------------------------------------

  // A method, not a comparison, so that type narrowing does not survive the calls that close.
  #closed(): boolean {
    return this.#mode === "closed";
  }

  #record(direction: "C" | "S", line: string): void {
    this.#context.record({ direction, line, layered: this.#layer !== undefined });
  }

  #event(line: string): void {
    this.#context.record({ direction: "!", line, layered: this.#layer !== undefined });
  }

  /**
   * Sends one reply; `shown` is what the transcript keeps (decoded SASL challenges). Replies
   * echo what the client sent (a command, a domain, an address): control characters in them
   * go out as `\xNN`, so that a CR cannot start a forged reply and an escape sequence cannot
   * reach the client's terminal.
   */
  #send(wire: readonly string[], shown: readonly string[] = wire): void {
    if (this.#closed()) return;
    for (const line of shown) this.#record("S", escapeControls(line));
    const bytes = encoder.encode(wire.map((line) => `${escapeControls(line)}\r\n`).join(""));
    const layer = this.#layer;
    if (!layer) {
      this.#socket.write(bytes);
      return;
    }
    const frames: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += layer.maxPlaintextSize) {
      frames.push(frame(layer.wrap(bytes.subarray(i, i + layer.maxPlaintextSize))));
    }
    this.#socket.write(concat(frames));
  }

  /** Closes without another word, as Sendmail does when it loses the input channel. */
  #drop(reason: string): void {
    if (this.#closed()) return;
    this.#event(reason);
    this.#mode = "closed";
    this.#hangUp();
  }

  // A FIN rather than a reset, so the client reads what was sent and then a clean EOF.
  #hangUp(): void {
    this.#mode = "closed";
    const socket = this.#socket;
    socket.end();
    socket.setTimeout(LINGER_MS, () => socket.destroy());
  }

  #timeout(): void {
    if (this.#closed()) {
      this.#socket.destroy();
      return;
    }
    this.#event("idle timeout");
    this.#send([`421 4.4.2 ${this.#options.domain} timeout waiting for input`]);
    this.#hangUp();
  }
}
