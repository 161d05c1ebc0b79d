// RC4 for the DIGEST-MD5 "rc4", "rc4-56" and "rc4-40" ciphers (RFC 2831 §2.4). Written here
// because OpenSSL 3 (Node) and Deno no longer offer RC4. Internal: not exported from mod.ts.

import { SaslError } from "../error.ts";

// Whether this platform stores a 32-bit word's low byte first (every engine saslkit runs on does;
// the byte loop below covers the others).
const LITTLE_ENDIAN = /* @__PURE__ */ new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The RC4 stream cipher with its state kept across calls: DIGEST-MD5 runs one keystream per
 * direction for the whole session, so the n-th call continues where the previous one stopped.
 * Encryption and decryption are the same operation.
 *
 * @example Chunks continue one keystream
 * ```ts
 * import { Rc4 } from "./rc4.ts";
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("Key");
 * const whole = new Rc4(key).process(new TextEncoder().encode("Plaintext"));
 * assert.deepEqual(whole, new Uint8Array([0xbb, 0xf3, 0x16, 0xe8, 0xd9, 0x40, 0xaf, 0x0a, 0xd3]));
 *
 * const split = new Rc4(key);
 * const first = split.process(new TextEncoder().encode("Plain"));
 * const second = split.process(new TextEncoder().encode("text"));
 * assert.deepEqual([...first, ...second], [...whole]);
 * ```
 */
export class Rc4 {
  // The permutation, one byte value per 32-bit entry (faster to index than a Uint8Array).
  #s = new Int32Array(256);
  #i = 0;
  #j = 0;

  /**
   * Runs the key schedule.
   *
   * @param key 1 to 256 bytes; DIGEST-MD5 uses 16 (rc4), 7 (rc4-56) or 5 (rc4-40).
   * @throws {SaslError} `invalid-argument` when the key is empty or longer than 256 bytes.
   */
  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) {
      throw new SaslError("invalid-argument", "an RC4 key must be 1 to 256 bytes long");
    }
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      j = (j + s[i] + key[i % key.length]) & 0xff;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
    }
  }

  /**
   * XORs `data` with the next `data.length` keystream bytes.
   *
   * @param data Plaintext or ciphertext; left unchanged.
   * @returns A new array of the same length.
   */
  process(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    this.processInto(data, out);
    return out;
  }

  /**
   * Like {@linkcode Rc4.process}, writing into `out` (at least as long as `data`; it may be
   * `data` itself, to work in place).
   */
  processInto(data: Uint8Array, out: Uint8Array): void {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    const length = data.length;
    let n = 0;
    if (LITTLE_ENDIAN && length >= 4 && (out.byteOffset & 3) === 0) {
      if ((data.byteOffset & 3) !== 0 && data.buffer !== out.buffer) {
        // Misaligned input, separate output: copy it over and work in place, aligned.
        out.set(data);
        data = out;
      }
      if ((data.byteOffset & 3) === 0) {
        // Four keystream bytes per iteration, XORed into the data as one 32-bit word (the first
        // byte in the low bits, as a little-endian word holds it).
        const words = length >>> 2;
        const input = new Int32Array(data.buffer, data.byteOffset, words);
        const output = new Int32Array(out.buffer, out.byteOffset, words);
        for (let w = 0; w < words; w++) {
          i = (i + 1) & 0xff;
          let si = s[i];
          j = (j + si) & 0xff;
          let sj = s[j];
          s[i] = sj;
          s[j] = si;
          let k = s[(si + sj) & 0xff];
          i = (i + 1) & 0xff;
          si = s[i];
          j = (j + si) & 0xff;
          sj = s[j];
          s[i] = sj;
          s[j] = si;
          k |= s[(si + sj) & 0xff] << 8;
          i = (i + 1) & 0xff;
          si = s[i];
          j = (j + si) & 0xff;
          sj = s[j];
          s[i] = sj;
          s[j] = si;
          k |= s[(si + sj) & 0xff] << 16;
          i = (i + 1) & 0xff;
          si = s[i];
          j = (j + si) & 0xff;
          sj = s[j];
          s[i] = sj;
          s[j] = si;
          k |= s[(si + sj) & 0xff] << 24;
          output[w] = input[w] ^ k;
        }
        n = words << 2;
      }
    }
    // The last 0-3 bytes, or everything when the arrays cannot be read as words.
    for (; n < length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i];
      j = (j + si) & 0xff;
      const sj = s[j];
      s[i] = sj;
      s[j] = si;
      out[n] = data[n] ^ s[(si + sj) & 0xff];
    }
    this.#i = i;
    this.#j = j;
  }
}
