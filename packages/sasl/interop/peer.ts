/**
 * Driver for an external SASL implementation (the JDK, Cyrus SASL…) run as a child process that
 * speaks a line protocol on stdin/stdout, so that saslkit's mechanisms can be tested against
 * it live. Test tooling only: `interop/` is not published.
 *
 * The peer is started with one argument, a JSON {@linkcode PeerConfig}. Every line is UTF-8 and
 * ends with `\n`.
 *
 * Peer → driver:
 * - `C <base64>`: a SASL message the peer produced (empty payload: `C ` with nothing after the
 *   space). A server peer prints its first challenge at start. A server that completes with
 *   success data (DIGEST-MD5 rspauth) prints `C <data>` and then `OK …`, without reading input in
 *   between; a client peer answering the rspauth challenge prints `C ` and then `OK …`.
 * - `OK <json>`: the exchange is complete; see {@linkcode PeerResult}.
 * - `W <base64>` / `U <base64>`: the result of a WRAP / an UNWRAP.
 * - `ERR <text>`: any failure; the peer keeps reading.
 *
 * Driver → peer: `S <base64>` (the other side's SASL message), `WRAP <base64 plaintext>`,
 * `UNWRAP <base64 buffer>` (security-layer buffers never carry the 4-byte length), `QUIT`.
 *
 * A peer should write the `C` line and the `OK` line that completes an exchange in one write, so
 * that the driver sees both together; a peer that instead waits for an empty `S` before `OK`
 * also works, at the cost of a short grace period.
 *
 * @example Running a saslkit client against a server peer
 * ```ts ignore
 * import { runClientWithPeerServer, startPeer } from "./peer.ts";
 *
 * const peer = await startPeer(["java", "-cp", classDir, "DigestPeer"], {
 *   role: "server", mechanism: "DIGEST-MD5", username: "chris", password: "secret",
 *   service: "smtp", host: "mail.example.com", qop: "auth-conf", realm: "example.com",
 * });
 * try {
 *   const { client, peer: result } = await runClientWithPeerServer(saslkitClient, peer);
 * } finally {
 *   await peer.close();
 * }
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { decodeBase64, encodeBase64 } from "../base64.ts";
import type { ClientMechanism, SaslOutcome, ServerMechanism } from "../mechanism.ts";
import type { SecurityLayer } from "../security_layer.ts";

/** The JSON a peer is started with. Extra keys are passed through untouched. */
export interface PeerConfig {
  /** Which side of the exchange the peer plays. */
  role: "client" | "server";
  /** The SASL mechanism, such as `DIGEST-MD5`. */
  mechanism: string;
  /** Authentication identity (the client's, or the one the server knows). */
  username: string;
  /** The password of `username`. */
  password: string;
  /** Authorization identity the client asks for; the server allows exactly this one. */
  authzid?: string;
  /** The realm (client: the one to use; server: the one to offer). */
  realm?: string;
  /** Service name of the digest-uri, such as `smtp`. */
  service: string;
  /** Host name of the digest-uri. */
  host: string;
  /** Comma-separated qops: accepted by a client (strongest wins), offered by a server. */
  qop: string;
  /** Comma-separated ciphers: preferred by a client, offered by a server. */
  ciphers?: string;
  /** The peer's receive buffer size (its `maxbuf`). */
  maxbuf?: number;
  /** Whatever else a particular peer understands. */
  [key: string]: unknown;
}

/** What a peer reports in its `OK` line; every field only where the peer knows it. */
export interface PeerResult {
  /** The negotiated qop. */
  qop?: string;
  /** The negotiated cipher (auth-conf only). */
  cipher?: string;
  /** The authorization identity in effect. */
  authzid?: string;
  /** The authenticated user (server peers). */
  user?: string;
  /** Anything else the peer reports. */
  [key: string]: unknown;
}

/** One line from a peer, decoded. */
export type PeerMessage =
  | { readonly kind: "C"; readonly data: Uint8Array }
  | { readonly kind: "OK"; readonly result: PeerResult }
  | { readonly kind: "W"; readonly data: Uint8Array }
  | { readonly kind: "U"; readonly data: Uint8Array }
  | { readonly kind: "ERR"; readonly message: string };

/** One raw line of the conversation with a peer, for debugging and transcripts. */
export interface PeerLogEntry {
  /** `out`: the driver wrote it; `in`: the peer printed it. */
  readonly direction: "in" | "out";
  /** The line without its `\n`. */
  readonly line: string;
}

/** A SASL message of a finished exchange, in order. */
export interface ExchangeMessage {
  /** Who produced it. */
  readonly from: "client" | "server";
  /** The message itself (may be empty). */
  readonly data: Uint8Array;
}

/** Options of {@linkcode startPeer}. */
export interface StartPeerOptions {
  /** How long {@linkcode Peer.read} waits by default, in milliseconds (default 20000). */
  timeoutMs?: number;
  /** Working directory of the child process. */
  cwd?: string;
  /** Environment of the child process (default: inherited). */
  env?: Record<string, string>;
}

/** Thrown when a peer says `ERR` where the driver needed something else. */
export class PeerError extends Error {
  /** The peer's own text. */
  readonly peerMessage: string;

  /**
   * @param peerMessage The text after `ERR `.
   * @param context What the driver was doing.
   */
  constructor(peerMessage: string, context: string) {
    super(`${context}: peer reported ERR ${peerMessage}`);
    this.name = "PeerError";
    this.peerMessage = peerMessage;
  }
}

/**
 * A running peer process.
 *
 * @example
 * ```ts ignore
 * const peer = await startPeer(command, config);
 * const first = await peer.expect("C"); // a server peer's first challenge
 * await peer.close();
 * ```
 */
export class Peer {
  readonly #child: ChildProcess;
  readonly #timeoutMs: number;
  readonly #queue: PeerMessage[] = [];
  readonly #waiters: Array<(message: PeerMessage | Error) => void> = [];
  #partial = new Uint8Array(0);
  #stderr = "";
  #ended: Error | undefined;
  readonly #closed: Promise<void>;
  /** Every line in both directions, in order. */
  readonly log: PeerLogEntry[] = [];
  /** The configuration the peer was started with. */
  readonly config: PeerConfig;

  /** Use {@linkcode startPeer}. */
  constructor(child: ChildProcess, config: PeerConfig, timeoutMs: number) {
    this.#child = child;
    this.config = config;
    this.#timeoutMs = timeoutMs;
    child.stdout!.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    child.stderr!.on("data", (chunk: Uint8Array) => {
      this.#stderr += new TextDecoder().decode(chunk);
      if (this.#stderr.length > 20000) this.#stderr = this.#stderr.slice(-10000);
    });
    // A peer that died must not make writes throw asynchronously; reads report the death.
    child.stdin!.on("error", () => {});
    this.#closed = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        this.#fail(
          new Error(
            `peer exited (code ${code}, signal ${signal})${this.#stderrTail()}`,
          ),
        );
        resolve();
      });
      child.on("error", (error) => {
        this.#fail(new Error(`peer process error: ${error.message}`));
        resolve();
      });
    });
  }

  /** What the peer wrote on stderr so far (last 10–20 kB). */
  get stderr(): string {
    return this.#stderr;
  }

  #stderrTail(): string {
    const tail = this.#stderr.trim().split("\n").slice(-15).join("\n");
    return tail ? `\n--- peer stderr ---\n${tail}` : "";
  }

  #onData(chunk: Uint8Array): void {
    const data = new Uint8Array(this.#partial.length + chunk.length);
    data.set(this.#partial);
    data.set(chunk, this.#partial.length);
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 10) continue;
      let end = i;
      if (end > start && data[end - 1] === 13) end--;
      this.#onLine(new TextDecoder().decode(data.subarray(start, end)));
      start = i + 1;
    }
    this.#partial = data.slice(start);
  }

  #onLine(line: string): void {
    this.log.push({ direction: "in", line });
    let message: PeerMessage | Error;
    try {
      message = parseLine(line);
    } catch (error) {
      message = error instanceof Error ? error : new Error(String(error));
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(message);
    else if (message instanceof Error) this.#fail(message);
    else this.#queue.push(message);
  }

  #fail(error: Error): void {
    this.#ended ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter(error);
  }

  /**
   * The next message, waiting at most `timeoutMs` (default: the peer's timeout).
   *
   * @throws {Error} on timeout, on an unparsable line, or when the peer has exited.
   */
  async read(timeoutMs: number = this.#timeoutMs): Promise<PeerMessage> {
    const message = await this.tryRead(timeoutMs);
    if (message === undefined) {
      throw new Error(
        `peer (${this.config.role}) sent nothing within ${timeoutMs} ms${this.#stderrTail()}`,
      );
    }
    return message;
  }

  /**
   * The next message, or `undefined` when none arrives within `waitMs`. Messages already
   * received are returned at once, even with `waitMs` 0.
   *
   * @throws {Error} on an unparsable line, or when the peer has exited.
   */
  tryRead(waitMs: number): Promise<PeerMessage | undefined> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      const waiter = (message: PeerMessage | Error) => {
        clearTimeout(timer);
        if (message instanceof Error) reject(message);
        else resolve(message);
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve(undefined);
      }, waitMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Reads the next message and checks its kind. An `ERR` becomes a {@linkcode PeerError}.
   *
   * @throws {PeerError | Error} when the message is of another kind.
   */
  async expect<K extends PeerMessage["kind"]>(
    kind: K,
    timeoutMs?: number,
  ): Promise<Extract<PeerMessage, { kind: K }>> {
    const message = await this.read(timeoutMs);
    if (message.kind === kind) return message as Extract<PeerMessage, { kind: K }>;
    if (message.kind === "ERR") throw new PeerError(message.message, `expected ${kind}`);
    throw new Error(`expected ${kind} from peer, got ${describe(message)}`);
  }

  #write(line: string): void {
    if (this.#ended) throw this.#ended;
    this.log.push({ direction: "out", line });
    this.#child.stdin!.write(line + "\n");
  }

  /** Passes the other side's SASL message (`S`). */
  send(message: Uint8Array): void {
    this.#write(`S ${encodeBase64(message)}`);
  }

  /** Asks the peer to wrap `plaintext` with its security layer and returns the buffer. */
  async wrap(plaintext: Uint8Array): Promise<Uint8Array> {
    this.#write(`WRAP ${encodeBase64(plaintext)}`);
    return (await this.expect("W")).data;
  }

  /** Asks the peer to unwrap one buffer of the other side and returns the plaintext. */
  async unwrap(buffer: Uint8Array): Promise<Uint8Array> {
    this.#write(`UNWRAP ${encodeBase64(buffer)}`);
    return (await this.expect("U")).data;
  }

  /**
   * Sends `QUIT` and waits for the process to end; kills it when it does not end within
   * `timeoutMs`. Safe to call more than once.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.#ended && this.#child.stdin!.writable) {
      this.log.push({ direction: "out", line: "QUIT" });
      this.#child.stdin!.end("QUIT\n");
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    if (await Promise.race([this.#closed, late]) === "late") {
      this.#child.kill("SIGKILL");
      await this.#closed;
    }
    clearTimeout(timer);
  }

  /** Lets `await using peer = await startPeer(...)` close the peer. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function parseLine(line: string): PeerMessage {
  const space = line.indexOf(" ");
  const tag = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? "" : line.slice(space + 1);
  switch (tag) {
    case "C":
    case "W":
    case "U":
      return { kind: tag, data: decodeBase64(rest) };
    case "OK": {
      const result = rest.trim() ? JSON.parse(rest) : {};
      return { kind: "OK", result: result as PeerResult };
    }
    case "ERR":
      return { kind: "ERR", message: rest };
    default:
      throw new Error(`peer printed an unknown line: ${JSON.stringify(line.slice(0, 200))}`);
  }
}

function describe(message: PeerMessage): string {
  switch (message.kind) {
    case "OK":
      return `OK ${JSON.stringify(message.result)}`;
    case "ERR":
      return `ERR ${message.message}`;
    default:
      return `${message.kind} (${message.data.length} bytes)`;
  }
}

/**
 * Starts a peer: runs `command` with the JSON of `config` appended as its last argument.
 *
 * @example
 * ```ts ignore
 * const peer = await startPeer(["java", "-cp", dir, "DigestPeer"], config);
 * ```
 */
export function startPeer(
  command: readonly string[],
  config: PeerConfig,
  options: StartPeerOptions = {},
): Promise<Peer> {
  const [program, ...args] = command;
  const child = spawn(program, [...args, JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
    cwd: options.cwd,
    env: options.env,
  });
  const peer = new Peer(child, config, options.timeoutMs ?? 20000);
  return new Promise((resolve, reject) => {
    child.once("spawn", () => resolve(peer));
    child.once("error", reject);
  });
}

/** How long the drivers wait for an `OK` that might follow a `C` (see the module docs). */
const DEFAULT_GRACE_MS = 1500;

/** Options of the exchange helpers. */
export interface ExchangeOptions {
  /**
   * Client side only: hand the server's final message to `finish(data)` as success data
   * instead of to `next` (the way protocols with success data, such as LDAP and XMPP, deliver
   * rspauth). Costs a short wait after each challenge.
   */
  successData?: boolean;
  /** How long to wait for an `OK` that might follow a `C` (default 1500 ms). */
  graceMs?: number;
}

/** What a saslkit client against a peer server established. */
export interface ClientExchangeResult {
  /** saslkit's outcome (`finish()`). */
  readonly client: SaslOutcome;
  /** The peer server's `OK`. */
  readonly peer: PeerResult;
  /** Every SASL message in order. */
  readonly messages: ExchangeMessage[];
}

/** What a peer client against a saslkit server established. */
export interface ServerExchangeResult {
  /** saslkit's outcome (`outcome()`). */
  readonly server: SaslOutcome;
  /** The peer client's `OK`. */
  readonly peer: PeerResult;
  /** Every SASL message in order. */
  readonly messages: ExchangeMessage[];
}

/** What two peers established with each other. */
export interface PeerExchangeResult {
  /** The client peer's `OK`. */
  readonly client: PeerResult;
  /** The server peer's `OK`. */
  readonly server: PeerResult;
  /** Every SASL message in order. */
  readonly messages: ExchangeMessage[];
}

async function expectC(peer: Peer, context: string): Promise<Uint8Array | PeerResult> {
  const message = await peer.read();
  if (message.kind === "C") return message.data;
  if (message.kind === "OK") return message.result;
  if (message.kind === "ERR") throw new PeerError(message.message, context);
  throw new Error(`${context}: unexpected ${describe(message)}`);
}

/**
 * Runs a saslkit client against a server peer to the end. When the client has an initial
 * response (SCRAM's client-first message) it is sent first, and the server peer must wait for
 * it; otherwise the server peer speaks first. The peer's final `C` (rspauth, SCRAM's `v=`) goes
 * to `client.next` and the client's empty answer is dropped, as SMTP does; with `successData`
 * it goes to `client.finish` instead.
 *
 * @throws {SaslError} from saslkit, {@linkcode PeerError} when the peer fails.
 *
 * @example
 * ```ts ignore
 * const { client, peer: server } = await runClientWithPeerServer(saslkitClient, serverPeer);
 * ```
 */
export async function runClientWithPeerServer(
  client: ClientMechanism,
  peer: Peer,
  options: ExchangeOptions = {},
): Promise<ClientExchangeResult> {
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const messages: ExchangeMessage[] = [];
  const initial = client.start();
  if (initial !== undefined) {
    messages.push({ from: "client", data: initial });
    peer.send(initial);
  }
  for (let round = 0; round < 20; round++) {
    const got = await expectC(peer, "server peer");
    if (!(got instanceof Uint8Array)) {
      return { client: client.finish(), peer: got, messages };
    }
    messages.push({ from: "server", data: got });
    if (options.successData) {
      const following = await peer.tryRead(grace);
      if (following?.kind === "OK") {
        return { client: client.finish(got), peer: following.result, messages };
      }
      if (following) throw new Error(`server peer: unexpected ${describe(following)}`);
    }
    const response = await client.next(got);
    if (response.length === 0) {
      // Either the challenge was success data (OK follows at once) or the server really waits
      // for an empty response.
      const following = await peer.tryRead(grace);
      if (following?.kind === "OK") {
        return { client: client.finish(), peer: following.result, messages };
      }
      if (following?.kind === "ERR") throw new PeerError(following.message, "server peer");
      if (following) throw new Error(`server peer: unexpected ${describe(following)}`);
    }
    messages.push({ from: "client", data: response });
    peer.send(response);
  }
  throw new Error("exchange did not finish within 20 rounds");
}

/**
 * Runs a client peer against a saslkit server to the end. The server speaks first unless
 * `initialResponse` says the peer client sends one at start.
 *
 * @throws {SaslError} from saslkit, {@linkcode PeerError} when the peer fails.
 *
 * @example
 * ```ts ignore
 * const { server, peer: client } = await runPeerClientWithServer(clientPeer, saslkitServer);
 * ```
 */
export async function runPeerClientWithServer(
  peer: Peer,
  server: ServerMechanism,
  options: ExchangeOptions & { initialResponse?: boolean } = {},
): Promise<ServerExchangeResult> {
  const messages: ExchangeMessage[] = [];
  let input: Uint8Array | undefined;
  if (options.initialResponse) {
    const got = await expectC(peer, "client peer");
    if (!(got instanceof Uint8Array)) throw new Error("client peer finished before starting");
    input = got;
    messages.push({ from: "client", data: got });
  }
  for (let round = 0; round < 20; round++) {
    const step = await server.next(input);
    if (step.challenge !== undefined) {
      messages.push({ from: "server", data: step.challenge });
      peer.send(step.challenge);
    }
    if (step.done) {
      // The peer answers a final rspauth with an empty C before OK; a server without success
      // data would have said "success" and the client would just finish.
      for (;;) {
        const got = await expectC(peer, "client peer");
        if (!(got instanceof Uint8Array)) {
          return { server: server.outcome(), peer: got, messages };
        }
        if (got.length !== 0) throw new Error("client peer sent data after the server was done");
        messages.push({ from: "client", data: got });
      }
    }
    const got = await expectC(peer, "client peer");
    if (!(got instanceof Uint8Array)) throw new Error("client peer finished before the server");
    messages.push({ from: "client", data: got });
    input = got;
  }
  throw new Error("exchange did not finish within 20 rounds");
}

/**
 * Runs a client peer against a server peer, forwarding each message, to the end. Used to prove
 * the driver and a peer implementation before saslkit takes either side. With
 * `initialResponse` the client peer speaks first (SCRAM).
 *
 * @throws {PeerError} when either peer fails.
 *
 * @example
 * ```ts ignore
 * const { client, server, messages } = await runPeers(clientPeer, serverPeer);
 * ```
 */
export async function runPeers(
  clientPeer: Peer,
  serverPeer: Peer,
  options: ExchangeOptions & { initialResponse?: boolean } = {},
): Promise<PeerExchangeResult> {
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const messages: ExchangeMessage[] = [];
  let serverResult: PeerResult | undefined;
  let clientResult: PeerResult | undefined;
  if (options.initialResponse) {
    const first = await expectC(clientPeer, "client peer");
    if (!(first instanceof Uint8Array)) throw new Error("client peer finished before starting");
    messages.push({ from: "client", data: first });
    serverPeer.send(first);
  }
  for (let round = 0; round < 20; round++) {
    const challenge = await expectC(serverPeer, "server peer");
    if (!(challenge instanceof Uint8Array)) {
      serverResult = challenge;
    } else {
      messages.push({ from: "server", data: challenge });
      const following = await serverPeer.tryRead(0);
      if (following?.kind === "OK") serverResult = following.result;
      else if (following) throw new Error(`server peer: unexpected ${describe(following)}`);
      clientPeer.send(challenge);
      const response = await expectC(clientPeer, "client peer");
      if (!(response instanceof Uint8Array)) {
        clientResult = response;
      } else {
        messages.push({ from: "client", data: response });
        if (serverResult === undefined && response.length === 0) {
          // As in runClientWithPeerServer: OK may trail the final challenge.
          const late = await serverPeer.tryRead(grace);
          if (late?.kind === "OK") serverResult = late.result;
          else if (late) throw new Error(`server peer: unexpected ${describe(late)}`);
        }
        if (serverResult === undefined) serverPeer.send(response);
        else {
          const done = await clientPeer.read();
          if (done.kind === "ERR") throw new PeerError(done.message, "client peer");
          if (done.kind !== "OK") throw new Error(`client peer: unexpected ${describe(done)}`);
          clientResult = done.result;
        }
      }
    }
    if (serverResult !== undefined && clientResult !== undefined) {
      return { client: clientResult, server: serverResult, messages };
    }
  }
  throw new Error("exchange did not finish within 20 rounds");
}

/** One wrapped buffer that crossed between the two sides. */
export interface WrappedRecord {
  /** Which side wrapped it. */
  readonly from: "saslkit" | "peer";
  /** The plaintext. */
  readonly plaintext: Uint8Array;
  /** The buffer without its 4-byte length. */
  readonly wrapped: Uint8Array;
}

/** Something that wraps and unwraps: a saslkit layer or another peer. */
export interface WrapSide {
  /** Wraps one plaintext. */
  wrap(plaintext: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Unwraps one buffer. */
  unwrap(buffer: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Options of {@linkcode exchangeWrapped}. */
export interface WrapExchangeOptions {
  /** Plaintexts for each direction; default {@linkcode defaultPlaintexts}. */
  plaintexts?: readonly Uint8Array[];
  /**
   * The largest plaintext the peer accepts from saslkit (default: `maxPlaintextSize` of the
   * layer when it is a {@linkcode SecurityLayer}); one message of that size is added.
   */
  largeToPeer?: number;
  /** The largest plaintext saslkit accepts from the peer; one message of that size is added. */
  largeFromPeer?: number;
}

/**
 * A few plaintexts of varied sizes and content: one byte, text, all byte values, and sizes
 * around the 8-byte cipher block.
 *
 * @example
 * ```ts ignore
 * const plaintexts = defaultPlaintexts();
 * ```
 */
export function defaultPlaintexts(): Uint8Array[] {
  const encoder = new TextEncoder();
  const all = new Uint8Array(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const out: Uint8Array[] = [
    new Uint8Array([0x41]),
    encoder.encode("MAIL FROM:<chris@example.com>\r\n"),
    all,
    encoder.encode("Grüße, 用户\r\n"),
  ];
  for (const size of [7, 8, 9, 15, 16, 17]) out.push(pattern(size, size));
  return out;
}

/** Deterministic bytes of a given size (a simple LCG), so that transcripts are reproducible. */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 16;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Sends wrapped buffers both ways, alternating directions so that both sequence numbers
 * advance together: `local` wraps and the peer unwraps, then the peer wraps and `local`
 * unwraps, for every plaintext and finally for one message of the largest allowed size each
 * way. Throws on the first plaintext that does not survive; returns every buffer.
 *
 * @throws {Error} when a plaintext comes out different, {@linkcode PeerError} when the peer
 * fails, `SaslError` when saslkit's layer does.
 *
 * @example
 * ```ts ignore
 * const records = await exchangeWrapped(outcome.securityLayer!, peer);
 * ```
 */
export async function exchangeWrapped(
  local: WrapSide | SecurityLayer,
  peer: Peer,
  options: WrapExchangeOptions = {},
): Promise<WrappedRecord[]> {
  const records: WrappedRecord[] = [];
  const toPeer = [...(options.plaintexts ?? defaultPlaintexts())];
  const fromPeer = [...toPeer];
  const largeToPeer = options.largeToPeer ??
    ("maxPlaintextSize" in local ? local.maxPlaintextSize : undefined);
  if (largeToPeer !== undefined) toPeer.push(pattern(largeToPeer, 7));
  if (options.largeFromPeer !== undefined) fromPeer.push(pattern(options.largeFromPeer, 11));
  const rounds = Math.max(toPeer.length, fromPeer.length);
  for (let i = 0; i < rounds; i++) {
    if (i < toPeer.length) {
      const plaintext = toPeer[i];
      const wrapped = await local.wrap(plaintext);
      records.push({ from: "saslkit", plaintext, wrapped });
      const back = await peer.unwrap(wrapped);
      if (!equalBytes(back, plaintext)) {
        throw new Error(`message ${i} (${plaintext.length} bytes): peer unwrapped other bytes`);
      }
    }
    if (i < fromPeer.length) {
      const plaintext = fromPeer[i];
      const wrapped = await peer.wrap(plaintext);
      records.push({ from: "peer", plaintext, wrapped });
      const back = await local.unwrap(wrapped);
      if (!equalBytes(back, plaintext)) {
        throw new Error(`message ${i} (${plaintext.length} bytes): local unwrap gave other bytes`);
      }
    }
  }
  return records;
}

/**
 * Adapts a second peer to {@linkcode WrapSide}, for peer-to-peer layer tests.
 *
 * @example
 * ```ts ignore
 * await exchangeWrapped(peerWrapSide(clientPeer), serverPeer);
 * ```
 */
export function peerWrapSide(peer: Peer): WrapSide {
  return { wrap: (p) => peer.wrap(p), unwrap: (b) => peer.unwrap(b) };
}
