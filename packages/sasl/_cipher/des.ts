// DES and triple DES in CBC mode for the DIGEST-MD5 "des" and "3des" ciphers (RFC 2831 §2.4).
// OpenSSL 3 (Node) refuses single DES and Deno knows only des-ede3-cbc, so the block cipher
// comes from the portable des.js package. Internal: not exported from mod.ts.

// @ts-types="./des_js.d.ts"
import des from "des.js";
import { SaslError } from "../error.ts";

const DesCbcCipher = des.CBC.instantiate(des.DES);
const EdeCbcCipher = des.CBC.instantiate(des.EDE);

/**
 * DES or triple-DES (EDE) in CBC mode, without padding, with the chaining value kept across
 * calls: DIGEST-MD5 continues one CBC chain per direction for the whole session, so each call
 * starts from the last ciphertext block of the previous one.
 *
 * The key length chooses the cipher: 8 bytes is single DES, 16 bytes is two-key triple DES
 * (K1, K2, K1; the DIGEST-MD5 "3des" key), 24 bytes is three-key triple DES. Keys are used as
 * given: DES ignores the low (parity) bit of every byte, so the caller builds 8-byte keys from
 * 7-byte DIGEST-MD5 key material and nothing here checks or fixes parity.
 *
 * @example The FIPS 81 CBC example, encrypted in two calls
 * ```ts
 * import { DesCbc } from "./des.ts";
 * import assert from "node:assert/strict";
 *
 * const fromHex = (hex: string) => new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
 * const key = fromHex("0123456789abcdef");
 * const iv = fromHex("1234567890abcdef");
 * const plaintext = new TextEncoder().encode("Now is the time for all ");
 *
 * const cipher = new DesCbc(key, iv, "encrypt");
 * const ciphertext = [
 *   ...cipher.process(plaintext.subarray(0, 8)),
 *   ...cipher.process(plaintext.subarray(8)),
 * ];
 * assert.deepEqual(ciphertext, [...fromHex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")]);
 *
 * const decipher = new DesCbc(key, iv, "decrypt");
 * assert.deepEqual(decipher.process(new Uint8Array(ciphertext)), plaintext);
 * ```
 */
export class DesCbc {
  #key: Uint8Array;
  #iv: Uint8Array;
  #direction: "encrypt" | "decrypt";

  /**
   * Prepares one direction of a CBC chain.
   *
   * @param key 8 bytes (DES), 16 bytes (two-key 3DES EDE) or 24 bytes (three-key 3DES EDE).
   * @param iv The 8-byte initial chaining value.
   * @param direction Whether {@linkcode DesCbc.process} encrypts or decrypts.
   * @throws {SaslError} `invalid-argument` for another key or IV length or an unknown direction.
   */
  constructor(key: Uint8Array, iv: Uint8Array, direction: "encrypt" | "decrypt") {
    if (key.length === 8 || key.length === 24) {
      this.#key = key.slice();
    } else if (key.length === 16) {
      this.#key = new Uint8Array(24);
      this.#key.set(key);
      this.#key.set(key.subarray(0, 8), 16);
    } else {
      throw new SaslError("invalid-argument", "a DES key must be 8, 16 or 24 bytes long");
    }
    if (iv.length !== 8) {
      throw new SaslError("invalid-argument", "a DES IV must be 8 bytes long");
    }
    if (direction !== "encrypt" && direction !== "decrypt") {
      throw new SaslError("invalid-argument", 'the direction must be "encrypt" or "decrypt"');
    }
    this.#iv = iv.slice();
    this.#direction = direction;
  }

  /**
   * Encrypts or decrypts whole blocks, continuing the chain of earlier calls.
   *
   * @param data A multiple of 8 bytes (the caller pads); left unchanged.
   * @returns A new array of the same length.
   * @throws {SaslError} `invalid-argument` when the length is not a multiple of 8.
   */
  process(data: Uint8Array): Uint8Array {
    if (data.length % 8 !== 0) {
      throw new SaslError("invalid-argument", "DES-CBC input must be a multiple of 8 bytes");
    }
    if (data.length === 0) return new Uint8Array(0);
    // A fresh des.js cipher per call, finished with final(): a long-lived decrypting des.js
    // cipher keeps the last block back until final(), which would end the chain. Its key
    // schedule costs microseconds.
    const Cipher = this.#key.length === 8 ? DesCbcCipher : EdeCbcCipher;
    const cipher = Cipher.create({
      type: this.#direction,
      key: this.#key,
      iv: this.#iv,
      padding: false,
    });
    const out = new Uint8Array(cipher.final(data));
    const ciphertext = this.#direction === "encrypt" ? out : data;
    this.#iv = ciphertext.slice(ciphertext.length - 8);
    return out;
  }
}
