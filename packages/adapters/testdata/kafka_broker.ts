// A fake Kafka broker on 127.0.0.1 that speaks just enough of the wire protocol for a real
// kafkajs client to connect and authenticate: ApiVersions (v0–v2), SaslHandshake (v0/v1) and
// SaslAuthenticate (v0/v1), or, with `legacy: true`, SaslHandshake v0 followed by raw SASL
// frames as brokers before Kafka 1.0 do. The SASL side is a saslkit server mechanism. Anything
// else is answered by closing the connection.

import { Buffer } from "node:buffer";
import { createServer, type Server, type Socket } from "node:net";
import type { ServerMechanism } from "@saslkit/sasl";

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
const SASL_AUTHENTICATION_FAILED = 58;

/** What the fake broker does. */
export interface FakeBrokerOptions {
  /** The mechanisms the handshake enables. */
  readonly mechanisms: readonly string[];
  /** A fresh server mechanism per connection, for the mechanism the client named. */
  readonly server: (mechanism: string) => ServerMechanism;
  /** Rewrites a SASL message the broker sends (a lying broker). */
  readonly tamper?: (message: Uint8Array, step: number) => Uint8Array;
  /** SaslHandshake v0 and raw SASL frames (Kafka 0.10/0.11). */
  readonly legacy?: boolean;
}

/** A running fake broker. */
export interface FakeBroker {
  readonly port: number;
  /** Every SASL message clients sent, as text. */
  readonly received: string[];
  /** How many SASL exchanges were started (one per handshake). */
  readonly handshakes: () => number;
  /** How many exchanges ended with the broker accepting the client. */
  readonly successes: () => number;
  close(): Promise<void>;
}

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  int16() {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32() {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  string() {
    const n = this.int16();
    if (n < 0) return null;
    const v = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  bytes() {
    const n = this.int32();
    if (n < 0) return new Uint8Array(0);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
}

const int16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const string = (s: string | null) =>
  s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
const bytes = (b: Uint8Array) => Buffer.concat([int32(b.length), b]);
const frame = (body: Buffer) => Buffer.concat([int32(body.length), body]);

/**
 * Starts the fake broker on an ephemeral port of 127.0.0.1.
 *
 * @param options Mechanisms and the SASL server.
 * @returns The broker.
 */
export async function startFakeBroker(options: FakeBrokerOptions): Promise<FakeBroker> {
  const received: string[] = [];
  let handshakes = 0;
  let successes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    let sasl: ServerMechanism | undefined;
    let step = 0;
    let rawSasl = false; // legacy: the next frames are bare SASL messages
    let chain: Promise<unknown> = Promise.resolve();

    const saslStep = async (message: Uint8Array) => {
      received.push(new TextDecoder().decode(message));
      let answer: Uint8Array;
      let failed = false;
      let done = false;
      try {
        const result = await sasl!.next(message);
        answer = result.challenge ?? new Uint8Array(0);
        if (new TextDecoder().decode(answer).startsWith("e=")) failed = true;
        else if (result.done) {
          successes++;
          done = true;
        }
      } catch {
        answer = new Uint8Array(0);
        failed = true;
      }
      if (!failed && options.tamper) answer = options.tamper(answer, step);
      step++;
      return { answer, failed, done };
    };

    const handle = async (request: Buffer) => {
      if (rawSasl) {
        const { answer, failed, done } = await saslStep(request);
        if (failed) return void socket.destroy(); // how an old broker refuses
        socket.write(frame(Buffer.from(answer)));
        if (done) rawSasl = false;
        return;
      }
      const r = new Reader(request);
      const apiKey = r.int16();
      const apiVersion = r.int16();
      const correlationId = r.int32();
      r.string(); // client id
      const reply = (body: Buffer) =>
        socket.write(frame(Buffer.concat([int32(correlationId), body])));
      if (apiKey === API_VERSIONS) {
        const apis = options.legacy
          ? [[API_VERSIONS, 0, 2], [SASL_HANDSHAKE, 0, 0]]
          : [[API_VERSIONS, 0, 2], [SASL_HANDSHAKE, 0, 1], [SASL_AUTHENTICATE, 0, 1]];
        const list = Buffer.concat([
          int32(apis.length),
          ...apis.map(([k, min, max]) => Buffer.concat([int16(k), int16(min), int16(max)])),
        ]);
        reply(Buffer.concat([int16(0), list, ...(apiVersion >= 1 ? [int32(0)] : [])]));
      } else if (apiKey === SASL_HANDSHAKE) {
        const mechanism = r.string() ?? "";
        const enabled = Buffer.concat([
          int32(options.mechanisms.length),
          ...options.mechanisms.map(string),
        ]);
        const known = options.mechanisms.includes(mechanism);
        reply(Buffer.concat([int16(known ? 0 : 33), enabled]));
        if (known) {
          handshakes++;
          sasl = options.server(mechanism);
          step = 0;
          rawSasl = apiVersion === 0;
        }
      } else if (apiKey === SASL_AUTHENTICATE && sasl) {
        const { answer, failed } = await saslStep(r.bytes());
        reply(Buffer.concat([
          int16(failed ? SASL_AUTHENTICATION_FAILED : 0),
          string(failed ? "Authentication failed: Invalid username or password" : null),
          bytes(failed ? new Uint8Array(0) : answer),
          ...(apiVersion >= 1 ? [int32(0), int32(0)] : []), // session_lifetime_ms (int64) 0
        ]));
        if (failed) socket.end();
      } else {
        socket.destroy();
      }
    };

    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const request = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        chain = chain.then(() => handle(Buffer.from(request))).catch(() => void socket.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    received,
    handshakes: () => handshakes,
    successes: () => successes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
