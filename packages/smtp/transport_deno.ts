/**
 * A transport on Deno's own sockets (`Deno.connect`, `Deno.startTls`), for
 * programs that run under Deno without its Node compatibility layer. Under other runtimes
 * {@linkcode connectDeno} refuses with a clear error; use `connectTcp` there.
 *
 * @module
 */

import type { ChannelBindings } from "@saslkit/sasl";
import { SmtpError } from "./error.ts";
import { checkHost, type ConnectOptions, type SmtpTransport, tlsError } from "./transport.ts";

// The few Deno APIs used, typed here so that the package also compiles where Deno's types are
// absent (the npm build).
interface DenoConn {
  /** TLS connections only: runs the handshake now rather than at the first read or write. */
  handshake?(): Promise<unknown>;
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
}
interface DenoTlsOptions {
  hostname: string;
  caCerts?: string[];
}
interface DenoApi {
  connect(options: { hostname: string; port: number }): Promise<DenoConn>;
  startTls(conn: DenoConn, options: DenoTlsOptions): Promise<DenoConn>;
}

function denoApi(): DenoApi {
  const deno = (globalThis as { Deno?: DenoApi }).Deno;
  if (!deno || typeof deno.connect !== "function") {
    throw new SmtpError("connection-failed", "Deno's socket API is not available; use connectTcp");
  }
  return deno;
}

class DenoTransport implements SmtpTransport {
  #conn: DenoConn;
  #secure: boolean;
  #closed = false;
  readonly #caCerts?: string[];

  constructor(conn: DenoConn, secure: boolean, caCerts?: string[]) {
    this.#conn = conn;
    this.#secure = secure;
    this.#caCerts = caCerts;
  }

  get secure(): boolean {
    return this.#secure;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buffer = new Uint8Array(16 * 1024);
    try {
      const n = await this.#conn.read(buffer);
      return n === null ? null : buffer.subarray(0, n);
    } catch (error) {
      if (this.#closed) return null;
      throw new SmtpError("connection-lost", "read failed", { cause: error });
    }
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#closed) throw new SmtpError("connection-lost", "the connection is closed");
    try {
      let offset = 0;
      while (offset < data.length) offset += await this.#conn.write(data.subarray(offset));
    } catch (error) {
      throw new SmtpError("connection-lost", "write failed", { cause: error });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  async startTls(servername: string): Promise<void> {
    if (this.#secure) throw new SmtpError("invalid-state", "the connection already uses TLS");
    try {
      // Deno would run the handshake lazily at the first read; run it now, so that a bad
      // certificate is a TLS error here and not a lost connection later.
      this.#conn = await denoApi().startTls(this.#conn, {
        hostname: servername,
        caCerts: this.#caCerts,
      });
      await this.#conn.handshake?.();
    } catch (error) {
      this.close();
      throw tlsError(error as Error, { host: servername, servername });
    }
    this.#secure = true;
  }

  // Deno exposes neither the TLS exporter, nor the Finished message, nor the peer
  // certificate on its own sockets: no channel binding.
  channelBindings(): ChannelBindings {
    return {};
  }
}

/**
 * Opens a connection with Deno's own sockets: plain TCP (STARTTLS-capable) or, with
 * `security: "tls"`, implicit TLS. Certificates are always checked (Deno has no per-connection
 * switch); trust a test server with `ca`.
 *
 * @throws {SmtpError} `connection-failed` (also outside Deno), `tls`, or `invalid-argument` for
 * `rejectUnauthorized: false`.
 *
 * @example
 * ```ts ignore
 * import { connectDeno, SmtpSession } from "@saslkit/smtp";
 *
 * const session = await SmtpSession.open(await connectDeno({ host: "mail.example.com", port: 587 }));
 * await session.ehlo("client.example.com");
 * await session.startTls("mail.example.com");
 * ```
 */
export async function connectDeno(options: ConnectOptions): Promise<SmtpTransport> {
  checkHost(options.host);
  const deno = denoApi();
  if (options.rejectUnauthorized === false) {
    throw new SmtpError(
      "invalid-argument",
      "Deno checks certificates always; pass the server's certificate as `ca` instead",
    );
  }
  const caCerts = options.ca === undefined
    ? undefined
    : typeof options.ca === "string"
    ? [options.ca]
    : [...options.ca];
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SmtpError("timeout", `connecting to ${options.host} timed out`)),
      timeoutMs,
    );
  });
  let timedOut = false;
  // Implicit TLS is a plain connection upgraded at once, so that the certificate is checked
  // against `servername` while the socket goes to `host`.
  let handshaking = false;
  const connecting = (async () => {
    const conn = await deno.connect({ hostname: options.host, port: options.port });
    if (options.security !== "tls") return conn;
    handshaking = true;
    try {
      const secured = await deno.startTls(conn, {
        hostname: options.servername ?? options.host,
        caCerts,
      });
      await secured.handshake?.();
      return secured;
    } catch (error) {
      try {
        conn.close();
      } catch {
        // Already consumed by the TLS upgrade, or closed by the peer.
      }
      throw error;
    }
  })();
  // A connection that completes after the timeout is closed, not leaked.
  connecting.then((late) => timedOut && late.close(), () => {});
  try {
    const conn = await Promise.race([
      connecting,
      timeout.catch((error) => {
        timedOut = true;
        throw error;
      }),
    ]);
    return new DenoTransport(conn, options.security === "tls", caCerts);
  } catch (error) {
    if (error instanceof SmtpError) throw error;
    if (handshaking) throw tlsError(error as Error, options);
    throw new SmtpError(
      options.security === "tls" ? "tls" : "connection-failed",
      `cannot connect to ${options.host}:${options.port}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
