/**
 * Just enough of the PostgreSQL frontend/backend protocol (version 3.0) to authenticate with
 * SASL over TLS, for the SCRAM interop tests: SSLRequest, the TLS handshake (node:tls), the
 * StartupMessage, AuthenticationSASL / SASLInitialResponse / SASLContinue / SASLResponse /
 * SASLFinal, and AuthenticationOk up to ReadyForQuery, or the server's ErrorResponse. Test
 * tooling only.
 *
 * @module
 */

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";

/** The SASL client side that {@linkcode authenticate} drives. */
export interface PgSaslClient {
  /** Picks a mechanism from the server's list and returns it with the client-first message. */
  start(offered: readonly string[]): Promise<{ mechanism: string; initial: Uint8Array }>;
  /** Answers AuthenticationSASLContinue. */
  next(challenge: Uint8Array): Promise<Uint8Array>;
  /** Takes AuthenticationSASLFinal (SCRAM's `v=`): verifies the server. */
  finish(data: Uint8Array): Promise<void>;
}

/** An ErrorResponse, by field. */
export interface PgError {
  /** `S`: ERROR, FATAL… */
  readonly severity: string;
  /** `C`: the SQLSTATE, such as `28P01`. */
  readonly code: string;
  /** `M`: the message. */
  readonly message: string;
}

/** What {@linkcode authenticate} saw. */
export interface PgAuthResult {
  /** The mechanisms of AuthenticationSASL, in the server's order. */
  readonly offered: readonly string[];
  /** The mechanism the client chose. */
  readonly mechanism?: string;
  /** Every SASL message in order. */
  readonly messages: Array<{ from: "client" | "server"; data: Uint8Array }>;
  /** True once AuthenticationOk and ReadyForQuery arrived. */
  readonly authenticated: boolean;
  /** The server's ErrorResponse, when it sent one. */
  readonly error?: PgError;
  /** ParameterStatus values (server_version…). */
  readonly parameters: Record<string, string>;
}

/** The TLS session of a connection, for channel bindings. */
export interface PgTls {
  /** The server certificate, DER. */
  readonly certificate: Uint8Array;
  /** The socket (getFinished, exportKeyingMaterial…). */
  readonly socket: TLSSocket;
}

class Reader {
  #buffer = new Uint8Array(0);
  #waiters: Array<() => void> = [];
  #ended: Error | undefined;

  constructor(socket: Socket | TLSSocket) {
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(this.#buffer.length + chunk.length);
      next.set(this.#buffer);
      next.set(chunk, this.#buffer.length);
      this.#buffer = next;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended ??= new Error("server closed the connection");
      this.#wake();
    });
    socket.on("error", (error) => {
      this.#ended = error;
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  async bytes(n: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buffer.length < n) {
      if (this.#ended) throw this.#ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer from PostgreSQL within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  async message(timeoutMs: number): Promise<{ type: string; body: Uint8Array }> {
    const header = await this.bytes(5, timeoutMs);
    const length = new DataView(header.buffer).getInt32(1);
    if (length < 4 || length > 1 << 20) throw new Error(`bad message length ${length}`);
    const body = await this.bytes(length - 4, timeoutMs);
    return { type: String.fromCharCode(header[0]), body };
  }
}

function int32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cstrings(body: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 0) continue;
    out.push(decoder.decode(body.subarray(start, i)));
    start = i + 1;
  }
  return out;
}

function frontend(type: string, body: Uint8Array): Uint8Array {
  return concat(encoder.encode(type), int32(body.length + 4), body);
}

function parseError(body: Uint8Array): PgError {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]);
    const end = body.indexOf(0, i + 1);
    fields[code] = decoder.decode(body.subarray(i + 1, end));
    i = end + 1;
  }
  return { severity: fields.V ?? fields.S ?? "", code: fields.C ?? "", message: fields.M ?? "" };
}

/** Opens TCP, sends SSLRequest and runs the TLS handshake, trusting exactly `caPem`. */
export async function connectTls(
  host: string,
  port: number,
  caPem: string,
  timeoutMs = 10000,
): Promise<PgTls> {
  const tcp = netConnect({ host, port });
  await new Promise<void>((resolve, reject) => {
    tcp.once("connect", resolve);
    tcp.once("error", reject);
  });
  tcp.write(concat(int32(8), int32(80877103)));
  const answer = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer to SSLRequest")), timeoutMs);
    tcp.once("data", (chunk: Uint8Array) => {
      clearTimeout(timer);
      if (chunk.length !== 1) reject(new Error("more than one byte after SSLRequest"));
      resolve(chunk[0]);
    });
    tcp.once("error", reject);
  });
  if (answer !== 0x53) {
    tcp.destroy();
    throw new Error(`server refused SSL (${String.fromCharCode(answer)})`);
  }
  const socket = tlsConnect({
    socket: tcp,
    ca: caPem,
    // The certificate is for IP 127.0.0.1; no SNI for an address.
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("TLS handshake timed out")), timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const certificate = new Uint8Array(socket.getPeerCertificate(true).raw);
  return { certificate, socket };
}

/**
 * Authenticates `user` to `database` over `tls` with `client`, to ReadyForQuery or the server's
 * ErrorResponse, and closes the connection. A failure of the client (its exception) is thrown
 * after the connection is closed.
 *
 * @example
 * ```ts ignore
 * const tls = await connectTls("127.0.0.1", port, certPem);
 * const result = await authenticate(tls, "chris", "postgres", client);
 * ```
 */
export async function authenticate(
  tls: PgTls,
  user: string,
  database: string,
  client: PgSaslClient,
  timeoutMs = 10000,
): Promise<PgAuthResult> {
  const { socket } = tls;
  const reader = new Reader(socket);
  const messages: PgAuthResult["messages"] = [];
  const parameters: Record<string, string> = {};
  let offered: string[] = [];
  let mechanism: string | undefined;
  const done = (extra: { authenticated: boolean; error?: PgError }): PgAuthResult => ({
    offered,
    mechanism,
    messages,
    parameters,
    ...extra,
  });
  try {
    const startup = concat(
      int32(196608),
      encoder.encode(`user\0${user}\0database\0${database}\0\0`),
    );
    socket.write(concat(int32(startup.length + 4), startup));
    let authenticatedOk = false;
    for (;;) {
      const { type, body } = await reader.message(timeoutMs);
      if (type === "E") return done({ authenticated: false, error: parseError(body) });
      if (type === "S") {
        const [name, value] = cstrings(body);
        parameters[name] = value;
        continue;
      }
      if (type === "Z") return done({ authenticated: authenticatedOk });
      if (type === "K" || type === "N") continue;
      if (type !== "R") throw new Error(`unexpected message ${type} during authentication`);
      const code = new DataView(body.buffer, body.byteOffset).getInt32(0);
      const data = body.subarray(4);
      switch (code) {
        case 0:
          authenticatedOk = true;
          break;
        case 10: {
          offered = cstrings(data).filter((m) => m !== "");
          const started = await client.start(offered);
          mechanism = started.mechanism;
          messages.push({ from: "client", data: started.initial });
          socket.write(frontend(
            "p",
            concat(
              encoder.encode(`${started.mechanism}\0`),
              int32(started.initial.length),
              started.initial,
            ),
          ));
          break;
        }
        case 11: {
          messages.push({ from: "server", data: data.slice() });
          const response = await client.next(data.slice());
          messages.push({ from: "client", data: response });
          socket.write(frontend("p", response));
          break;
        }
        case 12:
          messages.push({ from: "server", data: data.slice() });
          await client.finish(data.slice());
          break;
        default:
          throw new Error(`unsupported authentication request ${code}`);
      }
    }
  } finally {
    if (!socket.destroyed) {
      socket.end(frontend("X", new Uint8Array(0)));
      socket.destroy();
    }
  }
}

/** Connects, reads the server certificate and disconnects. */
export async function serverCertificate(
  host: string,
  port: number,
  caPem: string,
): Promise<Uint8Array> {
  const tls = await connectTls(host, port, caPem);
  tls.socket.destroy();
  return tls.certificate;
}
