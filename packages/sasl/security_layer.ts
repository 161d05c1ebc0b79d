/**
 * The security layer a mechanism can negotiate, and the 4-byte length framing that RFC 4422
 * puts on the wire around each wrapped buffer.
 *
 * @module
 */

import { concat, readUint32be, uint32be } from "./_bytes.ts";
import { SaslError } from "./error.ts";

/**
 * Integrity or confidentiality protection agreed on by a SASL exchange. Apply it to every
 * byte sent and received after authentication, or the peer will drop the connection.
 */
export interface SecurityLayer {
  /** `auth-int` (integrity) or `auth-conf` (integrity and confidentiality). */
  readonly qop: "auth-int" | "auth-conf";
  /** The cipher of an `auth-conf` layer. */
  readonly cipher?: string;
  /**
   * The largest plaintext that {@linkcode SecurityLayer.wrap} accepts, derived from the
   * peer's `maxbuf` so that the wrapped buffer fits the peer's limit.
   */
  readonly maxPlaintextSize: number;
  /** The largest wrapped buffer this side accepts (its own `maxbuf`). */
  readonly maxIncomingSize: number;
  /**
   * Protects one buffer for the peer. The result is the layer's buffer without the 4-byte
   * length; see {@linkcode frame}.
   *
   * @throws {SaslError} `buffer-too-large` when `plaintext` exceeds `maxPlaintextSize`.
   */
  wrap(plaintext: Uint8Array): Uint8Array;
  /**
   * Checks and removes the protection of one buffer from the peer (without the 4-byte length).
   *
   * @throws {SaslError} `integrity-check-failed`, `sequence-mismatch` or `buffer-too-large`.
   */
  unwrap(buffer: Uint8Array): Uint8Array;
}

/**
 * Prefixes a wrapped buffer with its 4-byte big-endian length, as RFC 4422 §3.7 puts it on
 * the wire.
 *
 * @example
 * ```ts
 * import { frame } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(frame(new Uint8Array([7, 8])), new Uint8Array([0, 0, 0, 2, 7, 8]));
 * ```
 */
export function frame(buffer: Uint8Array): Uint8Array {
  return concat(uint32be(buffer.length), buffer);
}

/**
 * Splits a byte stream into the buffers of a security layer, however the stream was chunked,
 * and refuses a length above the limit before waiting for its bytes.
 *
 * @example
 * ```ts
 * import { FrameDecoder, frame } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder(1024);
 * const wire = frame(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(decoder.push(wire.subarray(0, 5)), []);
 * assert.deepEqual(decoder.push(wire.subarray(5)), [new Uint8Array([1, 2, 3])]);
 * ```
 */
export class FrameDecoder {
  // Received bytes not yet returned, as they arrived: joining them only when a whole buffer is
  // there keeps a large maxbuf filled in small chunks linear, not quadratic.
  #chunks: Uint8Array[] = [];
  #pendingLength = 0;
  #expected = -1;
  readonly #maxSize: number;

  /**
   * Creates a decoder with nothing pending.
   *
   * @param maxSize The largest buffer accepted (this side's `maxbuf`).
   */
  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1) {
      throw new SaslError("invalid-argument", "maxSize must be a positive integer");
    }
    this.#maxSize = maxSize;
  }

  /** Bytes received but not yet part of a whole buffer. */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /**
   * Adds received bytes and returns every buffer they complete.
   *
   * @throws {SaslError} `buffer-too-large` when a length prefix exceeds the limit.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk.slice());
      this.#pendingLength += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.#expected < 0) {
        if (this.#pendingLength < 4) break;
        const length = readUint32be(this.#take(4), 0);
        if (length > this.#maxSize) {
          throw new SaslError(
            "buffer-too-large",
            `security layer buffer of ${length} bytes exceeds the limit of ${this.#maxSize}`,
          );
        }
        this.#expected = length;
      }
      if (this.#pendingLength < this.#expected) break;
      out.push(this.#take(this.#expected));
      this.#expected = -1;
    }
    return out;
  }

  // Removes and returns the first `n` pending bytes.
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0];
      const used = Math.min(head.length, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(used);
    }
    this.#pendingLength -= n;
    return out;
  }
}
