// RC4 for the DIGEST-MD5 "rc4", "rc4-56" and "rc4-40" ciphers (RFC 2831 §2.4). Written here
// because OpenSSL 3 (Node) and Deno no longer offer RC4. Internal: not exported from mod.ts.

import { SaslError } from "../error.ts";

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
  #s = new Uint8Array(256);
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
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]) & 0xff;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
      out[n] = data[n] ^ s[(s[i] + s[j]) & 0xff];
    }
    this.#i = i;
    this.#j = j;
  }
}
