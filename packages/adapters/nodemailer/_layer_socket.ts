// The socket nodemailer gets through its documented `getSocket` option when the caller opts
// in to a DIGEST-MD5 security layer: a duplex over a TCP socket of saslkit's own that passes
// bytes through unchanged until the handler installs the layer right after 235, and from
// then on wraps every write and unwraps every read (RFC 4422 framing). nodemailer reads and
// writes plaintext as before. Internal to @saslkit/adapters.

import { Buffer } from "node:buffer";
import net from "node:net";
import { Duplex } from "node:stream";
import { frame, FrameDecoder, type SecurityLayer } from "@saslkit/sasl";
import type { SMTPTransportGetSocket } from "nodemailer/lib/smtp-transport";

const MARKER = /^NOOP (saslkit-[A-Za-z0-9]{16,64})\r?$/;

/**
 * The sockets that have seen their handler's marker, by marker: the handler sends
 * `NOOP saslkit-<random>` through nodemailer and looks its socket up by it (nodemailer gives
 * the handler no reference to the connection).
 */
const bound = new Map<string, LayerSocket>();

/** The socket that carried the marker `id`, once; `undefined` when none did (TLS, no getSocket). */
export function claimSocket(id: string): LayerSocket | undefined {
  const socket = bound.get(id);
  bound.delete(id);
  socket?.stopWatching();
  return socket;
}

/** A net.Socket-shaped duplex; see the module comment. */
export class LayerSocket extends Duplex {
  readonly #raw: net.Socket;
  #layer: SecurityLayer | undefined;
  #frames: FrameDecoder | undefined;
  #line = "";
  #tls = false;
  #watching = true;
  #markers: string[] = [];

  constructor(raw: net.Socket) {
    super();
    this.#raw = raw;
    raw.on("data", (chunk: Uint8Array) => this.#incoming(chunk));
    raw.on("end", () => this.push(null));
    raw.on("close", () => this.destroy());
    raw.on("error", (error) => this.destroy(error));
    raw.on("timeout", () => this.emit("timeout"));
  }

  /** Whether nodemailer started TLS over this socket (then no layer is ever installed). */
  get tls(): boolean {
    return this.#tls;
  }

  /** Stops looking at plaintext commands: the handler has found this socket. */
  stopWatching(): void {
    this.#watching = false;
    this.#line = "";
  }

  /** Whether a layer is in force. */
  get layered(): boolean {
    return this.#layer !== undefined;
  }

  /**
   * Applies `layer` to every byte from now on. Call it when the 235 reply has been read and
   * before anything else is written: the server sends nothing unasked in between.
   */
  install(layer: SecurityLayer): void {
    this.#frames = new FrameDecoder(
      layer.maxIncomingSize,
      Math.min(layer.minIncomingSize ?? 1, layer.maxIncomingSize),
    );
    this.#layer = layer;
  }

  // What net.Socket offers and nodemailer calls.
  setTimeout(ms: number, callback?: () => void): this {
    this.#raw.setTimeout(ms, callback);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#raw.setKeepAlive(enable, delay);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#raw.setNoDelay(noDelay);
    return this;
  }
  get remoteAddress(): string | undefined {
    return this.#raw.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#raw.remotePort;
  }
  get localAddress(): string | undefined {
    return this.#raw.localAddress;
  }
  get localPort(): number | undefined {
    return this.#raw.localPort;
  }

  override _read(): void {
    this.#raw.resume();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    let wire: Uint8Array = chunk;
    try {
      if (this.#layer) {
        const max = this.#layer.maxPlaintextSize;
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < chunk.length; i += max) {
          pieces.push(frame(this.#layer.wrap(chunk.subarray(i, i + max))));
        }
        wire = Buffer.concat(pieces);
      } else if (this.#watching && !this.#tls) {
        this.#watch(chunk);
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#raw.write(wire, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#raw.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const id of this.#markers) if (bound.get(id) === this) bound.delete(id);
    this.#raw.destroy();
    callback(error);
  }

  // Before any layer: the plaintext commands, for the handler's marker and for STARTTLS.
  #watch(chunk: Uint8Array): void {
    this.#line += Buffer.from(chunk).toString("latin1");
    let end: number;
    while ((end = this.#line.indexOf("\n")) >= 0) {
      const line = this.#line.slice(0, end);
      this.#line = this.#line.slice(end + 1);
      if (/^STARTTLS\r?$/i.test(line)) {
        this.#tls = true; // what follows is TLS: the marker and the layer cannot be seen
        this.#line = "";
        return;
      }
      const marker = MARKER.exec(line);
      if (marker) {
        bound.set(marker[1], this);
        this.#markers.push(marker[1]);
      }
    }
    if (this.#line.length > 4096) this.#line = this.#line.slice(-4096);
  }

  #incoming(chunk: Uint8Array): void {
    if (!this.#layer) {
      if (!this.push(chunk)) this.#raw.pause();
      return;
    }
    const pieces: Uint8Array[] = [];
    try {
      this.#frames!.append(chunk);
      for (let buffer = this.#frames!.next(); buffer !== undefined; buffer = this.#frames!.next()) {
        pieces.push(this.#layer.unwrap(buffer));
      }
    } catch (error) {
      // A bad frame ends the connection; nothing after it is believed.
      this.destroy(error as Error);
      return;
    }
    for (const piece of pieces) if (piece.length > 0 && !this.push(piece)) this.#raw.pause();
  }
}

/**
 * nodemailer's `getSocket` for a layered connection: a plain TCP socket of saslkit's own,
 * wrapped in a {@linkcode LayerSocket}. Implicit TLS gets nodemailer's own socket (a layer
 * inside TLS would add nothing, and would sit below TLS here).
 */
export const layerGetSocket: SMTPTransportGetSocket = (options, callback) => {
  if (options.secure === true || (options.secure === undefined && Number(options.port) === 465)) {
    setImmediate(() => callback(null, false));
    return;
  }
  const raw = net.connect({
    host: options.host ?? "localhost",
    port: Number(options.port) || 587,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const onError = (error: Error) => callback(error);
  raw.once("error", onError);
  raw.once("connect", () => {
    raw.removeListener("error", onError);
    // Not a net.Socket, but a duplex with every net.Socket method nodemailer calls on a
    // `connection` (setTimeout, setKeepAlive, setNoDelay, addresses, write, end, destroy).
    callback(null, { connection: new LayerSocket(raw) as unknown as net.Socket });
  });
};
