// A transport for saslkit's SmtpSession that presents a TLS client certificate on STARTTLS:
// @saslkit/smtp's own transports have no option for one, and EXTERNAL needs it.

import { Buffer } from "node:buffer";
import { createConnection, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { ChannelBindings } from "@saslkit/sasl";
import type { SmtpTransport } from "../../mod.ts";

/** What {@linkcode connectWithClientCert} needs. */
export interface ClientCertOptions {
  readonly host: string;
  readonly port: number;
  /** The CA to trust (PEM). */
  readonly ca: string;
  /** The client certificate and key (PEM); without them STARTTLS presents none. */
  readonly cert?: string;
  readonly key?: string;
}

class ClientCertTransport implements SmtpTransport {
  #socket: Socket | TLSSocket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #secure = false;
  #wake: (() => void) | undefined;
  readonly #options: ClientCertOptions;
  readonly #onData = (chunk: Uint8Array) => {
    this.#chunks.push(new Uint8Array(chunk));
    this.#notify();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#notify();
  };

  constructor(socket: Socket, options: ClientCertOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#attach(socket);
  }

  get secure(): boolean {
    return this.#secure;
  }

  #attach(socket: Socket): void {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onEnd);
  }

  #detach(socket: Socket): void {
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
    socket.off("error", this.#onEnd);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(): Promise<Uint8Array | null> {
    while (!this.#chunks.length && !this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#chunks.shift() ?? null;
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => error ? reject(error) : resolve());
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#onEnd();
  }

  async startTls(servername: string): Promise<void> {
    const plain = this.#socket;
    this.#detach(plain);
    const secured = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({
        socket: plain,
        servername,
        ca: this.#options.ca,
        cert: this.#options.cert,
        key: this.#options.key,
      });
      s.once("secureConnect", () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
    });
    this.#socket = secured;
    this.#secure = true;
    this.#attach(secured);
  }

  channelBindings(): ChannelBindings {
    const socket = this.#socket as TLSSocket;
    if (!this.#secure) return {};
    // Deno 2.9's node:tls has neither exportKeyingMaterial nor getFinished: no binding there.
    if (socket.getProtocol() === "TLSv1.3") {
      if (typeof socket.exportKeyingMaterial !== "function") return {};
      const data = socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
      return { "tls-exporter": new Uint8Array(data) };
    }
    const finished = typeof socket.getFinished === "function" ? socket.getFinished() : undefined;
    return finished ? { "tls-unique": new Uint8Array(finished) } : {};
  }
}

/** A plain TCP connection whose STARTTLS presents `cert`/`key` and trusts `ca`. */
export function connectWithClientCert(options: ClientCertOptions): Promise<SmtpTransport> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: options.host, port: options.port });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(new ClientCertTransport(socket, options));
    });
    socket.once("error", reject);
  });
}
