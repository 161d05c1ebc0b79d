// DES and triple DES in CBC mode for the DIGEST-MD5 "des" and "3des" ciphers (RFC 2831 §2.4).
// OpenSSL 3 (Node) refuses single DES and Deno knows only des-ede3-cbc, so the block cipher is
// written here: the classic table-driven formulation (FIPS 46-3), with the eight S-boxes and the
// P permutation folded into eight 64-entry SP tables built once from the standard's tables below,
// and the initial and final permutations done as five masked bit-group swaps each (the
// decomposition of IP that table-free DES implementations use). Checked against the
// FIPS 81 and NIST vectors and against OpenSSL's des-ede3-cbc (des_test.ts). Internal: not
// exported from mod.ts.

import { nodeCrypto } from "../_node_crypto.ts";
import { SaslError } from "../error.ts";

// FIPS 46-3 tables, 1-based bit numbers counted from the most significant bit.
// deno-fmt-ignore
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
// deno-fmt-ignore
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
// deno-fmt-ignore
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];
// S1..S8, each four rows of sixteen, as printed in the standard.
// deno-fmt-ignore
const S =
  "e4d12fb83a6c5907" + "0f74e2d1a6cb9538" + "41e8d62bfc973a50" + "fc8249175b3ea06d" +
  "f18e6b34972dc05a" + "3d47f28ec01a69b5" + "0e7ba4d158c6932f" + "d8a13f42b67c05e9" +
  "a09e63f51dc7b428" + "d709346a285ecbf1" + "d6498f30b12c5ae7" + "1ad069874fe3b52c" +
  "7de3069a1285bc4f" + "d8b56f03472c1ae9" + "a690cb7df13e5284" + "3f06a1d8945bc72e" +
  "2c417ab6853fd0e9" + "eb2c47d150fa3986" + "421bad78f9c5630e" + "b8c71e2d6f09a453" +
  "c1af92680d34e75b" + "af427c9561de0b38" + "9ef528c3704a1db6" + "432c95fabe17608d" +
  "4b2ef08d3c975a61" + "d0b7491ae35c2f86" + "14bdc37eaf680592" + "6bd814a7950fe23c" +
  "d2846fb1a93e50c7" + "1fd8a374c56b0e92" + "7b419ce206adf358" + "21e74a8dfc90356b";

// SP[i * 64 + v]: S-box i applied to the 6-bit group v, placed and permuted by P, then rotated
// right by one bit: the rounds keep both halves rotated that way (see processInto).
const SP = /* @__PURE__ */ (() => {
  const sp = new Int32Array(512);
  for (let i = 0; i < 8; i++) {
    for (let v = 0; v < 64; v++) {
      const row = ((v >> 4) & 2) | (v & 1);
      const nibble = parseInt(S[i * 64 + row * 16 + ((v >> 1) & 15)], 16);
      const s = nibble << (28 - 4 * i);
      let out = 0;
      for (let j = 0; j < 32; j++) if ((s >>> (32 - P[j])) & 1) out |= 1 << (31 - j);
      sp[i * 64 + v] = (out >>> 1) | (out << 31);
    }
  }
  return sp;
})();

// 16 rounds x 2 words: the even-numbered six-bit subkey groups (for S1, S3, S5, S7) at bit
// offsets 26, 18, 10 and 2 of the first word, the odd-numbered ones likewise in the second, where
// the round function finds the expanded halves (see crypt).
function keySchedule(key: Uint8Array, offset: number): Int32Array {
  const bit = (n: number) => (key[offset + ((n - 1) >> 3)] >> (7 - ((n - 1) & 7))) & 1;
  const cd = PC1.map(bit);
  const out = new Int32Array(32);
  for (let round = 0; round < 16; round++) {
    for (let s = 0; s < SHIFTS[round]; s++) {
      // Both 28-bit halves rotate left: rotate all 56, then swap the two bits that crossed.
      cd.push(cd.shift()!);
      const crossed = cd[27];
      cd[27] = cd[55];
      cd[55] = crossed;
    }
    for (let g = 0; g < 8; g++) {
      let v = 0;
      for (let k = 0; k < 6; k++) v = (v << 1) | cd[PC2[g * 6 + k] - 1];
      out[round * 2 + (g & 1)] |= v << (26 - 8 * (g >> 1));
    }
  }
  return out;
}

function reversed(schedule: Int32Array): Int32Array {
  const out = new Int32Array(32);
  for (let round = 0; round < 16; round++) {
    out.set(schedule.subarray((15 - round) * 2, (16 - round) * 2), round * 2);
  }
  return out;
}

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
  // The subkeys of every DES stage, in the order applied (already reversed for decryption):
  // 32 words for DES, 96 for triple DES.
  readonly #keys: Int32Array;
  readonly #encrypt: boolean;
  #ivLeft: number;
  #ivRight: number;

  /**
   * Prepares one direction of a CBC chain.
   *
   * @param key 8 bytes (DES), 16 bytes (two-key 3DES EDE) or 24 bytes (three-key 3DES EDE).
   * @param iv The 8-byte initial chaining value.
   * @param direction Whether {@linkcode DesCbc.process} encrypts or decrypts.
   * @throws {SaslError} `invalid-argument` for another key or IV length or an unknown direction.
   */
  constructor(key: Uint8Array, iv: Uint8Array, direction: "encrypt" | "decrypt") {
    if (key.length !== 8 && key.length !== 16 && key.length !== 24) {
      throw new SaslError("invalid-argument", "a DES key must be 8, 16 or 24 bytes long");
    }
    if (iv.length !== 8) {
      throw new SaslError("invalid-argument", "a DES IV must be 8 bytes long");
    }
    if (direction !== "encrypt" && direction !== "decrypt") {
      throw new SaslError("invalid-argument", 'the direction must be "encrypt" or "decrypt"');
    }
    this.#encrypt = direction === "encrypt";
    const k1 = keySchedule(key, 0);
    let stages: Int32Array[];
    if (key.length === 8) {
      stages = [this.#encrypt ? k1 : reversed(k1)];
    } else {
      const k2 = keySchedule(key, 8);
      const k3 = key.length === 24 ? keySchedule(key, 16) : k1;
      // EDE: encrypt with K1, decrypt with K2, encrypt with K3; decryption runs it backwards.
      stages = this.#encrypt ? [k1, reversed(k2), k3] : [reversed(k3), k2, reversed(k1)];
    }
    this.#keys = new Int32Array(32 * stages.length);
    stages.forEach((k, i) => this.#keys.set(k, 32 * i));
    this.#ivLeft = word(iv, 0);
    this.#ivRight = word(iv, 4);
  }

  /**
   * Encrypts or decrypts whole blocks, continuing the chain of earlier calls.
   *
   * @param data A multiple of 8 bytes (the caller pads); left unchanged.
   * @returns A new array of the same length.
   * @throws {SaslError} `invalid-argument` when the length is not a multiple of 8.
   */
  process(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    this.processInto(data, out);
    return out;
  }

  /**
   * Like {@linkcode DesCbc.process}, writing into `out` (as long as `data`; it may be `data`
   * itself, to work in place).
   *
   * @throws {SaslError} `invalid-argument` when the length is not a multiple of 8 or `out`
   * is shorter than `data`.
   */
  processInto(data: Uint8Array, out: Uint8Array): void {
    if (data.length % 8 !== 0) {
      throw new SaslError("invalid-argument", "DES-CBC input must be a multiple of 8 bytes");
    }
    if (out.length < data.length) {
      throw new SaslError("invalid-argument", "DES-CBC output is shorter than the input");
    }
    const keys = this.#keys;
    const rounds = keys.length;
    const sp = SP;
    const encrypt = this.#encrypt;
    let ivLeft = this.#ivLeft;
    let ivRight = this.#ivRight;
    // One block per iteration, everything in locals: the chaining value, IP, the rounds of every
    // stage and FP, with no call and no array between them.
    for (let offset = 0; offset < data.length; offset += 8) {
      const inLeft = (data[offset] << 24) | (data[offset + 1] << 16) | (data[offset + 2] << 8) |
        data[offset + 3];
      const inRight = (data[offset + 4] << 24) | (data[offset + 5] << 16) |
        (data[offset + 6] << 8) | data[offset + 7];
      let l = encrypt ? inLeft ^ ivLeft : inLeft;
      let r = encrypt ? inRight ^ ivRight : inRight;
      // IP as five swaps of bit groups between the halves.
      let t = ((l >>> 4) ^ r) & 0x0f0f0f0f;
      r ^= t;
      l ^= t << 4;
      t = ((l >>> 16) ^ r) & 0x0000ffff;
      r ^= t;
      l ^= t << 16;
      t = ((r >>> 2) ^ l) & 0x33333333;
      l ^= t;
      r ^= t << 2;
      t = ((r >>> 8) ^ l) & 0x00ff00ff;
      l ^= t;
      r ^= t << 8;
      t = ((l >>> 1) ^ r) & 0x55555555;
      r ^= t;
      l ^= t << 1;
      // Both halves rotated right by one bit for the rounds. The expansion E is then read off
      // the half itself: the 6-bit groups for S1, S3, S5, S7 sit at bit offsets 26, 18, 10, 2 of
      // the rotated half, those for S2, S4, S6, S8 at the same offsets of it rotated left by 4,
      // so a round is two XORs with subkey words and eight lookups. SP holds its outputs rotated
      // alike, so the halves never leave the rotated form until FP.
      l = (l >>> 1) | (l << 31);
      r = (r >>> 1) | (r << 31);
      let u: number;
      for (let k = 0; k < rounds;) {
        // 16 rounds, two per iteration so that the halves need no swap between rounds.
        const stageEnd = k + 32;
        do {
          t = r ^ keys[k];
          u = ((r << 4) | (r >>> 28)) ^ keys[k + 1];
          l ^= ((sp[t >>> 26] | sp[128 + ((t >>> 18) & 63)]) |
            (sp[256 + ((t >>> 10) & 63)] | sp[384 + ((t >>> 2) & 63)])) |
            ((sp[64 + (u >>> 26)] | sp[192 + ((u >>> 18) & 63)]) |
              (sp[320 + ((u >>> 10) & 63)] | sp[448 + ((u >>> 2) & 63)]));
          t = l ^ keys[k + 2];
          u = ((l << 4) | (l >>> 28)) ^ keys[k + 3];
          r ^= ((sp[t >>> 26] | sp[128 + ((t >>> 18) & 63)]) |
            (sp[256 + ((t >>> 10) & 63)] | sp[384 + ((t >>> 2) & 63)])) |
            ((sp[64 + (u >>> 26)] | sp[192 + ((u >>> 18) & 63)]) |
              (sp[320 + ((u >>> 10) & 63)] | sp[448 + ((u >>> 2) & 63)]));
          k += 4;
        } while (k < stageEnd);
        // Each stage ends with the halves swapped (R16 L16); between the stages of triple DES
        // FP and the next IP cancel, so they are left out.
        t = l;
        l = r;
        r = t;
      }
      l = (l << 1) | (l >>> 31);
      r = (r << 1) | (r >>> 31);
      // FP: the swaps of IP, undone in reverse order.
      t = ((l >>> 1) ^ r) & 0x55555555;
      r ^= t;
      l ^= t << 1;
      t = ((r >>> 8) ^ l) & 0x00ff00ff;
      l ^= t;
      r ^= t << 8;
      t = ((r >>> 2) ^ l) & 0x33333333;
      l ^= t;
      r ^= t << 2;
      t = ((l >>> 16) ^ r) & 0x0000ffff;
      r ^= t;
      l ^= t << 16;
      t = ((l >>> 4) ^ r) & 0x0f0f0f0f;
      r ^= t;
      l ^= t << 4;
      if (encrypt) {
        ivLeft = l;
        ivRight = r;
      } else {
        l ^= ivLeft;
        r ^= ivRight;
        ivLeft = inLeft;
        ivRight = inRight;
      }
      out[offset] = l >>> 24;
      out[offset + 1] = l >>> 16;
      out[offset + 2] = l >>> 8;
      out[offset + 3] = l;
      out[offset + 4] = r >>> 24;
      out[offset + 5] = r >>> 16;
      out[offset + 6] = r >>> 8;
      out[offset + 7] = r;
    }
    this.#ivLeft = ivLeft;
    this.#ivRight = ivRight;
  }
}

/** One direction of a CBC chain over whole blocks, writing into `out` (which may be `data`). */
export interface BlockChain {
  processInto(data: Uint8Array, out: Uint8Array): void;
}

// The slice of node:crypto used here, typed locally so that nothing imports "node:crypto".
interface NodeCipherSlice {
  createCipheriv(name: string, key: Uint8Array, iv: Uint8Array): NodeCipher;
  createDecipheriv(name: string, key: Uint8Array, iv: Uint8Array): NodeCipher;
}
interface NodeCipher {
  setAutoPadding(on: boolean): NodeCipher;
  update(data: Uint8Array): Uint8Array;
}

/**
 * The fastest DES-CBC chain for this runtime, chosen by measurement (bench/, 2-core machine,
 * 64 KiB buffers): for triple DES, OpenSSL's des-ede3-cbc through node:crypto in Node (about 2x
 * this file's JavaScript) and Bun (about 1.3x); in Deno its node:crypto des-ede3-cbc is about
 * 3x slower than the JavaScript, and browsers have none, so they use {@linkcode DesCbc}. Single
 * DES is always {@linkcode DesCbc}: OpenSSL 3 refuses des-cbc, and three passes of
 * des-ede3-cbc with one key lose to one pass in JavaScript.
 *
 * @param key 8, 16 or 24 bytes, as for {@linkcode DesCbc}.
 * @param iv The 8-byte initial chaining value.
 * @param direction Encrypt or decrypt.
 * @throws {SaslError} `invalid-argument` as {@linkcode DesCbc} does.
 */
export function desCbc(
  key: Uint8Array,
  iv: Uint8Array,
  direction: "encrypt" | "decrypt",
): BlockChain {
  const portable = new DesCbc(key, iv, direction); // checks the arguments
  if (key.length === 8 || typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") {
    return portable;
  }
  let cipher: NodeCipher | undefined;
  try {
    const nc = nodeCrypto<NodeCipherSlice>();
    if (nc === undefined) return portable;
    const full = key.length === 24 ? key : new Uint8Array([...key, ...key.subarray(0, 8)]);
    cipher = (direction === "encrypt" ? nc.createCipheriv : nc.createDecipheriv)(
      "des-ede3-cbc",
      full,
      iv,
    ).setAutoPadding(false);
    if (full !== key) full.fill(0); // OpenSSL holds its own copy of the key
  } catch {
    return portable;
  }
  const native = cipher;
  return {
    processInto(data: Uint8Array, out: Uint8Array): void {
      if (data.length % 8 !== 0) {
        throw new SaslError("invalid-argument", "DES-CBC input must be a multiple of 8 bytes");
      }
      // Without padding, OpenSSL returns every whole block at once and keeps the chain.
      const result = native.update(data);
      if (result.length !== data.length) {
        throw new SaslError("invalid-state", "des-ede3-cbc returned a partial block");
      }
      out.set(result);
    },
  };
}

function word(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3];
}
