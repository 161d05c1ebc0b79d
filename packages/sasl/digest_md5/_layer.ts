// The DIGEST-MD5 security layer (RFC 2831 §2.3 integrity, §2.4 confidentiality), as Cyrus SASL
// and the JDK put it on the wire:
//
//   auth-int:  msg | HMAC-MD5(Ki, seq | msg)[0..10] | 0x0001 | seq
//   auth-conf: CIPHER(Kc, msg | pad | HMAC-MD5(Ki, seq | msg)[0..10]) | 0x0001 | seq
//
// seq is a 4-byte big-endian counter per direction, starting at 0. RC4 keeps one keystream per
// direction for the whole session; DES and 3DES run CBC with the IV chained from the previous
// ciphertext. After any failed unwrap the layer refuses further use: with a stream cipher the two
// sides can no longer be in step, and a peer that tampers once is not trusted again.

import { timingSafeEqual } from "../_bytes.ts";
import { type KeyedHmacMd5, keyedHmacMd5 } from "../_hash.ts";
import { SaslError } from "../error.ts";
import type { SecurityLayer } from "../security_layer.ts";
import type { DigestCipherStream, DigestCipherSuite } from "./ciphers.ts";
import { integrityKeys } from "./_compute.ts";

const MAC_LENGTH = 10;
// MAC, message type and sequence number follow every message.
const TRAILER_LENGTH = MAC_LENGTH + 2 + 4;

/** Options of {@linkcode DigestSecurityLayer}. */
export interface DigestLayerOptions {
  readonly ha1: Uint8Array;
  readonly side: "client" | "server";
  readonly qop: "auth-int" | "auth-conf";
  /** The cipher of auth-conf: the layer runs only what the caller imported. */
  readonly cipher?: DigestCipherSuite;
  /** The largest wrapped buffer this side accepts: its own maxbuf. */
  readonly ownMaxbuf: number;
  /** The largest wrapped buffer the peer accepts: the peer's maxbuf. */
  readonly peerMaxbuf: number;
}

/** An established DIGEST-MD5 integrity or confidentiality layer. */
export class DigestSecurityLayer implements SecurityLayer {
  readonly qop: "auth-int" | "auth-conf";
  readonly cipher?: string;
  readonly maxPlaintextSize: number;
  readonly maxIncomingSize: number;
  readonly minIncomingSize: number;
  // HMAC-MD5 keyed once per direction (Ki), not re-keyed for every buffer.
  readonly #sendMac: KeyedHmacMd5;
  readonly #receiveMac: KeyedHmacMd5;
  // The 4-byte sequence number fed to the MAC, reused for every buffer of a direction.
  readonly #seqBytes = new Uint8Array(4);
  readonly #encrypt?: DigestCipherStream;
  readonly #decrypt?: DigestCipherStream;
  readonly #blockSize: number;
  #sendSeq = 0;
  #receiveSeq = 0;
  #broken = false;

  constructor(options: DigestLayerOptions) {
    const [sendKey, receiveKey] = integrityKeys(options.ha1, options.side);
    this.qop = options.qop;
    this.#sendMac = keyedHmacMd5(sendKey);
    this.#receiveMac = keyedHmacMd5(receiveKey);
    this.maxIncomingSize = options.ownMaxbuf;
    if (options.qop === "auth-conf") {
      if (!options.cipher) throw new SaslError("invalid-argument", "auth-conf needs a cipher");
      this.cipher = options.cipher.name;
      const streams = options.cipher.streams(options.ha1, options.side);
      this.#encrypt = streams.encrypt;
      this.#decrypt = streams.decrypt;
      this.#blockSize = options.cipher.blockSize;
      // Cyrus SASL's bound: the peer's maxbuf less the 4-byte length, the trailer and a
      // worst-case block of padding.
      this.maxPlaintextSize = options.peerMaxbuf - 4 - TRAILER_LENGTH - 9;
      // An empty message: its MAC, padded to whole blocks (at least one byte of padding),
      // then the message type and sequence number. 16 for RC4, 22 for DES and 3DES.
      const sealed = this.#blockSize === 1
        ? MAC_LENGTH
        : (Math.floor(MAC_LENGTH / this.#blockSize) + 1) * this.#blockSize;
      this.minIncomingSize = sealed + 6;
    } else {
      this.#blockSize = 1;
      this.maxPlaintextSize = options.peerMaxbuf - 4 - TRAILER_LENGTH;
      this.minIncomingSize = TRAILER_LENGTH;
    }
  }

  wrap(plaintext: Uint8Array): Uint8Array {
    this.#usable();
    if (plaintext.length > this.maxPlaintextSize) {
      throw new SaslError(
        "buffer-too-large",
        `cannot wrap ${plaintext.length} bytes: the peer accepts at most ${this.maxPlaintextSize}`,
      );
    }
    if (this.#sendSeq === 0xffffffff) {
      // Wrapping to 0 would let old buffers be replayed; 2^32 buffers end the session.
      this.#broken = true;
      throw new SaslError("sequence-mismatch", "the sequence number space is exhausted");
    }
    const seq = this.#sendSeq++;
    const seqBytes = this.#seqBytes;
    writeUint32be(seqBytes, 0, seq);
    const mac = this.#sendMac(seqBytes, plaintext);
    // One allocation: message, padding and MAC (sealed in place), then type and sequence.
    const n = plaintext.length;
    const padLength = this.#blockSize > 1
      ? this.#blockSize - ((n + MAC_LENGTH) % this.#blockSize)
      : 0;
    const sealedLength = n + padLength + MAC_LENGTH;
    const out = new Uint8Array(sealedLength + 6);
    out.set(plaintext);
    if (padLength > 0) out.fill(padLength, n, n + padLength);
    for (let i = 0, at = n + padLength; i < MAC_LENGTH; i++) out[at + i] = mac[i];
    if (this.#encrypt) {
      const sealed = out.subarray(0, sealedLength);
      this.#encrypt.processInto(sealed, sealed);
    }
    out[sealedLength + 1] = 1; // message type 0x0001
    writeUint32be(out, sealedLength + 2, seq);
    return out;
  }

  unwrap(buffer: Uint8Array): Uint8Array {
    this.#usable();
    try {
      return this.#unwrap(buffer);
    } catch (error) {
      this.#broken = true;
      throw error;
    }
  }

  #unwrap(buffer: Uint8Array): Uint8Array {
    if (buffer.length > this.maxIncomingSize) {
      throw new SaslError(
        "buffer-too-large",
        `security layer buffer of ${buffer.length} bytes exceeds maxbuf ${this.maxIncomingSize}`,
      );
    }
    if (buffer.length < this.minIncomingSize) {
      throw new SaslError("integrity-check-failed", "security layer buffer is too short");
    }
    const typeOffset = buffer.length - 6;
    if (buffer[typeOffset] !== 0 || buffer[typeOffset + 1] !== 1) {
      throw new SaslError(
        "integrity-check-failed",
        "security layer buffer has a wrong message type",
      );
    }
    const seqBytes = buffer.subarray(buffer.length - 4);
    const seq = ((buffer[typeOffset + 2] << 24) | (buffer[typeOffset + 3] << 16) |
      (buffer[typeOffset + 4] << 8) | buffer[typeOffset + 5]) >>> 0;
    if (seq !== this.#receiveSeq) {
      throw new SaslError(
        "sequence-mismatch",
        `expected sequence number ${this.#receiveSeq}, received ${seq}`,
      );
    }
    let message: Uint8Array;
    let mac: Uint8Array;
    if (this.#decrypt) {
      const sealed = buffer.subarray(0, typeOffset);
      if (sealed.length % this.#blockSize !== 0) {
        throw new SaslError("integrity-check-failed", "ciphertext is not a whole number of blocks");
      }
      // One copy: decrypted into the array that the message is returned in.
      const opened = new Uint8Array(sealed.length);
      this.#decrypt.processInto(sealed, opened);
      mac = opened.subarray(opened.length - MAC_LENGTH);
      let end = opened.length - MAC_LENGTH;
      if (this.#blockSize > 1) {
        const padLength = opened[end - 1];
        if (padLength < 1 || padLength > this.#blockSize || padLength > end) {
          throw new SaslError("integrity-check-failed", "security layer padding is invalid");
        }
        for (let i = end - padLength; i < end; i++) {
          if (opened[i] !== padLength) {
            throw new SaslError("integrity-check-failed", "security layer padding is invalid");
          }
        }
        end -= padLength;
      }
      message = opened.subarray(0, end);
    } else {
      message = buffer.subarray(0, buffer.length - TRAILER_LENGTH);
      mac = buffer.subarray(buffer.length - TRAILER_LENGTH, typeOffset);
    }
    const expected = this.#receiveMac(seqBytes, message).subarray(0, MAC_LENGTH);
    if (!timingSafeEqual(mac, expected)) {
      throw new SaslError("integrity-check-failed", "security layer MAC does not match");
    }
    this.#receiveSeq++;
    // A decrypted message already lives in its own array; an integrity-only one is copied out
    // of the caller's buffer.
    return this.#decrypt ? message : message.slice();
  }

  #usable(): void {
    if (this.#broken) {
      throw new SaslError(
        "invalid-state",
        "the security layer failed earlier; the connection must be closed",
      );
    }
  }
}

function writeUint32be(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}
