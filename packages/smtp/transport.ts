/**
 * The byte stream an SMTP session runs over, and ready transports on `node:net` and `node:tls`
 * (which Deno and Bun provide too): plain TCP, implicit TLS (port 465) and STARTTLS.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import type { ChannelBindings } from "@saslkit/sasl";
import { channelBindingsOf } from "./_channel_bindings.ts";
import { SmtpError } from "./error.ts";

/**
 * A duplex byte stream. Any implementation works: a socket, a TLS socket, a test pipe.
 */
export interface SmtpTransport {
  /** Whether the stream is encrypted (TLS), so that a cleartext password may cross it. */
  readonly secure: boolean;
  /** Reads the next chunk; `null` at the end of the stream. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the stream; pending reads end with `null`. */
  close(): void;
  /**
   * Turns the stream into TLS in place, for STARTTLS. Absent on streams that cannot.
   *
   * @param servername The name to verify the certificate against.
   */
  startTls?(servername: string): Promise<void>;
  /**
   * The channel-binding data of a TLS stream, by type, where the runtime exposes it
   * (RFC 5929, RFC 9266); empty on a plain stream.
   */
  channelBindings?(): ChannelBindings;
}

/** Options of {@linkcode connectTcp}. */
export interface ConnectOptions {
  /** The server's host name or address. */
  readonly host: string;
  /** The port: 25 or 587 for STARTTLS, 465 for implicit TLS. */
  readonly port: number;
  /** `tls` for implicit TLS; otherwise plain TCP that STARTTLS may upgrade. Default `none`. */
  readonly security?: "none" | "tls";
  /** Certificate checks: on unless set to false (only ever for tests). */
  readonly rejectUnauthorized?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a test server's. */
  readonly ca?: string | readonly string[];
  /** The name to check the certificate against; default `host`. */
  readonly servername?: string;
  /** Connection timeout in milliseconds; default 30000. */
  readonly timeoutMs?: number;
}

// Past this many buffered bytes the socket is paused until the session reads: a server cannot
// fill memory faster than the session consumes.
const HIGH_WATER = 1 << 20;

class SocketTransport implements SmtpTransport {
  #socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error?: Error;
  #waiter?: () => void;
  #secure: boolean;
  readonly #options: ConnectOptions;
  readonly #onData = (chunk: Uint8Array) => {
    this.#chunks.push(new Uint8Array(chunk));
    this.#buffered += chunk.length;
    if (this.#buffered > HIGH_WATER) this.#socket.pause();
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };
  readonly #onError = (error: Error) => {
    this.#error = error;
    this.#ended = true;
    this.#wake();
  };

  constructor(socket: net.Socket, secure: boolean, options: ConnectOptions) {
    this.#socket = socket;
    this.#secure = secure;
    this.#options = options;
    this.#attach(socket);
  }

  get secure(): boolean {
    return this.#secure;
  }

  #attach(socket: net.Socket): void {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
  }

  #detach(socket: net.Socket): void {
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
    socket.off("error", this.#onError);
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#buffered -= chunk.length;
      if (this.#buffered <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
      return chunk;
    }
    return null;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#ended || this.#socket.destroyed) {
      return Promise.reject(
        new SmtpError("connection-lost", "the connection is closed", { cause: this.#error }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(
        data,
        (error) =>
          error
            ? reject(new SmtpError("connection-lost", "write failed", { cause: error }))
            : resolve(),
      );
    });
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
  }

  async startTls(servername: string): Promise<void> {
    if (this.#secure) throw new SmtpError("invalid-state", "the connection already uses TLS");
    if (this.#chunks.length > 0) {
      // Plaintext after the 220 would be read as if it came through TLS: refuse it.
      this.close();
      throw new SmtpError("protocol", "the server sent data after its STARTTLS reply");
    }
    const plain = this.#socket;
    this.#detach(plain);
    // Errors on the plain socket now surface through the TLS socket; keep one listener so that
    // an error event never goes unhandled.
    plain.on("error", () => {});
    let secured: tls.TLSSocket;
    try {
      secured = await tlsConnect({ ...this.#options, servername }, plain);
    } catch (error) {
      plain.destroy();
      this.#ended = true;
      throw error;
    }
    this.#socket = secured;
    this.#chunks = [];
    this.#buffered = 0;
    this.#ended = false;
    this.#secure = true;
    this.#attach(secured);
  }

  channelBindings(): ChannelBindings {
    const socket = this.#socket as tls.TLSSocket;
    if (!this.#secure || typeof socket.getProtocol !== "function") return {};
    return channelBindingsOf(socket, "client");
  }
}

function tlsConnect(options: ConnectOptions, socket?: net.Socket): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secured = tls.connect({
      socket,
      host: socket ? undefined : options.host,
      port: socket ? undefined : options.port,
      // SNI carries names only; for an address the certificate is checked against the address.
      servername: net.isIP(options.servername ?? options.host)
        ? undefined
        : options.servername ?? options.host,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ca: options.ca as string | string[] | undefined,
    });
    const timer = setTimeout(() => {
      secured.destroy();
      reject(new SmtpError("timeout", "TLS handshake timed out"));
    }, options.timeoutMs ?? 30_000);
    secured.once("secureConnect", () => {
      clearTimeout(timer);
      secured.removeAllListeners("error");
      resolve(secured);
    });
    secured.once("error", (error: Error) => {
      clearTimeout(timer);
      secured.destroy();
      reject(new SmtpError("tls", `TLS failed: ${error.message}`, { cause: error }));
    });
  });
}

/**
 * Opens a TCP connection, or an implicit-TLS one with `security: "tls"`. Certificates are
 * checked unless `rejectUnauthorized` is false.
 *
 * @throws {SmtpError} `connection-failed`, `timeout` or `tls`.
 *
 * @example
 * ```ts ignore
 * import { connectTcp } from "@saslkit/smtp";
 *
 * const transport = await connectTcp({ host: "mail.example.com", port: 465, security: "tls" });
 * transport.close();
 * ```
 */
export async function connectTcp(options: ConnectOptions): Promise<SmtpTransport> {
  if (options.security === "tls") {
    return new SocketTransport(await tlsConnect(options), true, options);
  }
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: options.host, port: options.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new SmtpError("timeout", `connecting to ${options.host}:${options.port} timed out`));
    }, options.timeoutMs ?? 30_000);
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", (error: Error) => {
      clearTimeout(timer);
      reject(
        new SmtpError(
          "connection-failed",
          `cannot connect to ${options.host}:${options.port}: ${error.message}`,
          { cause: error },
        ),
      );
    });
  });
  return new SocketTransport(socket, false, options);
}
