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
   * The shortest wrapped buffer that {@linkcode SecurityLayer.unwrap} can ever accept (the
   * trailer of an empty message). Give it to {@linkcode FrameDecoder} so that shorter frames
   * are refused as they are cut. Optional for layers of other libraries; 1 when absent.
   */
  readonly minIncomingSize?: number;
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
 * Splits a byte stream into the buffers of a security layer, however the stream was chunked.
 * A length prefix outside the limits is refused as soon as its 4 bytes are there, before its
 * buffer is waited for, so hostile input costs no more than its first frame.
 *
 * Two ways to use it. {@linkcode FrameDecoder.push} adds bytes and returns every buffer they
 * complete. {@linkcode FrameDecoder.append} and {@linkcode FrameDecoder.next} cut one buffer at
 * a time, so a caller can unwrap each before the next is cut and stop at the first bad one.
 *
 * A refused prefix leaves the decoder failed (the stream has lost its framing): every later
 * call throws the same error, except that `next()` first hands out any buffers that were
 * complete before the refused prefix and not yet returned. Nothing whole is dropped.
 *
 * @example Buffers out of arbitrary chunks
 * ```ts
 * import { FrameDecoder, frame } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const decoder = new FrameDecoder(1024);
 * const wire = frame(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(decoder.push(wire.subarray(0, 5)), []);
 * assert.equal(decoder.pendingLength, 5); // the 4-byte length and 1 byte of the buffer
 * assert.deepEqual(decoder.push(wire.subarray(5)), [new Uint8Array([1, 2, 3])]);
 * ```
 *
 * @example One buffer at a time, and the buffers before a refused prefix
 * ```ts
 * import { FrameDecoder, frame, SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * // A layer's buffers are never shorter than its trailer: 16 bytes for DIGEST-MD5.
 * const decoder = new FrameDecoder(1024, 16);
 * const good = frame(new Uint8Array(16).fill(7));
 * const empty = frame(new Uint8Array(0)); // too short for any buffer of this layer
 * const wire = new Uint8Array([...good, ...empty, ...good]);
 * assert.throws(() => decoder.push(wire), (e: SaslError) => e.code === "integrity-check-failed");
 * assert.deepEqual(decoder.next(), new Uint8Array(16).fill(7)); // complete before the bad one
 * assert.throws(() => decoder.next(), SaslError); // and then failed for good
 * ```
 */
export class FrameDecoder {
  // Received bytes not yet cut, as they arrived, from #head on: joining them only when a whole
  // buffer is there keeps a large maxbuf filled in small chunks linear, not quadratic.
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  // The length of the buffer being waited for once its prefix is read, else -1.
  #expected = -1;
  // Buffers push() cut before it threw, still owed to next().
  #ready: Uint8Array[] = [];
  #error?: SaslError;
  readonly #maxSize: number;
  readonly #minSize: number;

  /**
   * Creates a decoder with nothing pending.
   *
   * @param maxSize The largest buffer accepted (this side's `maxbuf`, the layer's
   * `maxIncomingSize`).
   * @param minSize The shortest buffer accepted, default 1 (an empty buffer is never a
   * valid layer buffer): pass the layer's `minIncomingSize`.
   * @throws {SaslError} `invalid-argument` unless `1 <= minSize <= maxSize` are integers.
   */
  constructor(maxSize: number, minSize = 1) {
    if (!Number.isInteger(maxSize) || maxSize < 1) {
      throw new SaslError("invalid-argument", "maxSize must be a positive integer");
    }
    if (!Number.isInteger(minSize) || minSize < 1 || minSize > maxSize) {
      throw new SaslError("invalid-argument", "minSize must be an integer in 1..maxSize");
    }
    this.#maxSize = maxSize;
    this.#minSize = minSize;
  }

  /**
   * Bytes received but not yet returned as part of a whole buffer, a length prefix already
   * read included: 0 exactly when the stream stands between two frames.
   */
  get pendingLength(): number {
    return this.#buffered + (this.#expected >= 0 ? 4 : 0);
  }

  /**
   * Adds received bytes without cutting anything; {@linkcode FrameDecoder.next} cuts.
   *
   * @throws {SaslError} the decoder's earlier error, once it has failed.
   */
  append(chunk: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk.slice());
    this.#buffered += chunk.length;
  }

  /**
   * Cuts the next whole buffer, if its bytes are all there.
   *
   * @returns The buffer without its length prefix, or `undefined` until more bytes arrive.
   * @throws {SaslError} `buffer-too-large` or `integrity-check-failed` (too short) for a
   * length prefix outside the limits, as soon as its 4 bytes are there; the decoder's earlier
   * error once it has failed and owes no more buffers.
   */
  next(): Uint8Array | undefined {
    if (this.#ready.length > 0) return this.#ready.shift();
    if (this.#error) throw this.#error;
    if (this.#expected < 0) {
      if (this.#buffered < 4) return undefined;
      const length = readUint32be(this.#take(4), 0);
      if (length > this.#maxSize) {
        return this.#fail(
          new SaslError(
            "buffer-too-large",
            `security layer buffer of ${length} bytes exceeds the limit of ${this.#maxSize}`,
          ),
        );
      }
      if (length < this.#minSize) {
        return this.#fail(
          new SaslError(
            "integrity-check-failed",
            `security layer buffer of ${length} bytes is shorter than the minimum of ${this.#minSize}`,
          ),
        );
      }
      this.#expected = length;
    }
    if (this.#buffered < this.#expected) return undefined;
    const buffer = this.#take(this.#expected);
    this.#expected = -1;
    return buffer;
  }

  /**
   * Adds received bytes and returns every buffer they complete.
   *
   * @throws {SaslError} `buffer-too-large` or `integrity-check-failed` (too short) for a
   * length prefix outside the limits. The buffers this call had completed before it are kept:
   * {@linkcode FrameDecoder.next} returns them, in order, before it throws the error again.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    try {
      this.append(chunk);
      for (let buffer = this.next(); buffer !== undefined; buffer = this.next()) out.push(buffer);
    } catch (error) {
      this.#ready = this.#ready.length ? this.#ready.concat(out) : out;
      throw error;
    }
    return out;
  }

  #fail(error: SaslError): never {
    this.#error = error;
    // The rest of the stream is unreadable: let it go.
    this.#chunks = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#expected = -1;
    throw error;
  }

  // Removes and returns the first `n` pending bytes.
  #take(n: number): Uint8Array {
    const first = this.#chunks[this.#head];
    let out: Uint8Array;
    if (first.length >= n) {
      // The common case, a buffer within one chunk: no copy beyond the one append() made.
      out = first.subarray(0, n);
      if (first.length === n) this.#head++;
      else this.#chunks[this.#head] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const head = this.#chunks[this.#head];
        const used = Math.min(head.length, n - filled);
        out.set(head.subarray(0, used), filled);
        filled += used;
        if (used === head.length) this.#head++;
        else this.#chunks[this.#head] = head.subarray(used);
      }
    }
    // Drop consumed chunks now and then, so the list stays proportional to what is pending.
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    this.#buffered -= n;
    return out;
  }
}
