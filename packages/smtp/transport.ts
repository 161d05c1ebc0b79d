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
  /** The TLS protocol version in force (`TLSv1.3`), where the runtime tells; absent on plain. */
  tlsVersion?(): string | undefined;
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
  /**
   * A client certificate and its key (PEM) to present in the TLS handshake (implicit TLS or
   * STARTTLS), for servers that authenticate it, as SASL EXTERNAL does.
   */
  readonly clientCertificate?: { readonly key: string; readonly cert: string };
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
  #first = true;
  readonly #options: ConnectOptions;
  readonly #onData = (chunk: Uint8Array) => {
    if (this.#first && !this.#secure && chunk[0] === 0x16 && chunk[1] === 0x03) {
      // A TLS record (handshake, version 3.x) where a greeting belongs: an implicit-TLS port.
      this.#error = new SmtpError(
        "tls-expected",
        `${this.#options.host}:${this.#options.port} speaks TLS from the first byte, not ` +
          `plaintext SMTP: use implicit TLS (security: "tls", --tls)`,
      );
      this.#socket.destroy();
    }
    this.#first = false;
    if (this.#error) return;
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
    if (this.#error instanceof SmtpError && this.#error.code === "tls-expected") throw this.#error;
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

  tlsVersion(): string | undefined {
    const socket = this.#socket as tls.TLSSocket;
    if (!this.#secure || typeof socket.getProtocol !== "function") return undefined;
    return socket.getProtocol() ?? undefined;
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
      key: options.clientCertificate?.key,
      cert: options.clientCertificate?.cert,
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
      reject(tlsError(error, options));
    });
  });
}

const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

/**
 * A TLS handshake failure as an error that says what to do: a plaintext answer (OpenSSL's
 * record-layer errors), an untrusted or mismatched certificate, or anything else as `tls`.
 */
export function tlsError(
  error: Error & { code?: string },
  options: { host: string; port?: number; servername?: string },
): SmtpError {
  const where = options.port ? `${options.host}:${options.port}` : options.host;
  const code = error.code ?? "";
  // OpenSSL says "wrong version number", BoringSSL (Bun) "WRONG_VERSION_NUMBER".
  const text = `${error.message} ${code}`.replaceAll("_", " ");
  if (
    /wrong version number|packet length too long|unknown protocol|http request|InvalidContentType|corrupt message/i
      .test(text)
  ) {
    return new SmtpError(
      "plaintext-server",
      `${where} answered in plaintext, not TLS: it is not an implicit-TLS port; drop --tls ` +
        `(security: "tls") and use STARTTLS (port 587 or 25)`,
      { cause: error },
    );
  }
  if (
    UNTRUSTED.has(code) ||
    /self[- ]signed|unable to (?:verify|get) .*(?:issuer|certificate)|UnknownIssuer/i.test(text)
  ) {
    return new SmtpError(
      "untrusted-certificate",
      `the certificate of ${where} is not trusted (${
        code || error.message
      }): if the server uses a private CA or a self-signed certificate, trust it with ` +
        `--ca FILE (the ca option: its PEM certificate); --insecure only for tests`,
      { cause: error },
    );
  }
  if (
    code === "ERR_TLS_CERT_ALTNAME_INVALID" || /altnames|does not match|NotValidForName/i.test(text)
  ) {
    return new SmtpError(
      "untrusted-certificate",
      `the certificate of ${where} does not name ${options.servername ?? options.host}: ` +
        `connect by the name it carries, or give it with --servername (the servername option)`,
      { cause: error },
    );
  }
  if (code === "CERT_HAS_EXPIRED" || /expired/i.test(text)) {
    return new SmtpError(
      "untrusted-certificate",
      `the certificate of ${where} has expired`,
      { cause: error },
    );
  }
  return new SmtpError("tls", `TLS failed: ${error.message}`, { cause: error });
}

/**
 * Refuses a host that carries a port (`127.0.0.1:2525`) or a scheme, which would otherwise
 * become a DNS lookup of the whole string.
 *
 * @throws {SmtpError} `invalid-argument`, naming the port to pass instead.
 */
export function checkHost(host: unknown, what = "host"): string {
  if (typeof host !== "string" || host === "") {
    throw new SmtpError("invalid-argument", `${what} must be a non-empty string`);
  }
  const withPort = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(host);
  if (withPort) {
    throw new SmtpError(
      "invalid-argument",
      `${what} must not carry a port: pass host "${withPort[1].replace(/^\[|\]$/g, "")}" ` +
        `and port ${withPort[2]}`,
    );
  }
  if (/^[a-z]+:\/\//i.test(host) || /[\s/@]/.test(host)) {
    throw new SmtpError(
      "invalid-argument",
      `${what} must be a host name or an address, without scheme, path or user`,
    );
  }
  return host;
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
  checkHost(options.host);
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
