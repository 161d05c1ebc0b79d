// The one seam through which saslkit hashes. Every mechanism calls these functions and nothing
// else, so that the backend can be chosen per runtime without touching mechanism code.
//
// MD5 and HMAC-MD5 (DIGEST-MD5, CRAM-MD5, the DIGEST-MD5 layers) go through a backend chosen
// once per runtime by measurement (see `chooseMd5Backend` below and bench/): `node:crypto`
// where `process.getBuiltinModule` gives it, @noble/hashes everywhere else.
// The SHA family for SCRAM (hash, HMAC, PBKDF2) has its own seam, _sha.ts; the certificate
// hash of tls-server-end-point is in _sha_noble.ts.
import { hmac } from "@noble/hashes/hmac.js";
import { md5 as nobleMd5 } from "@noble/hashes/legacy.js";
import { hex, utf8 } from "./_bytes.ts";

/**
 * HMAC-MD5 under one key, kept for many messages (a security layer's direction): the MAC of
 * `seq | message`. Keying once saves re-hashing the padded key for every buffer.
 */
export type KeyedHmacMd5 = (seq: Uint8Array, message: Uint8Array) => Uint8Array;

/** One implementation of MD5 and HMAC-MD5. Inputs are never modified; outputs are fresh. */
export interface Md5Backend {
  /** What it is, for benchmarks and tests: `node:crypto`, `noble` or a mix. */
  readonly name: string;
  /** MD5 of the concatenation of the parts. */
  md5(parts: readonly Uint8Array[]): Uint8Array;
  /** Lower-case hex of MD5(UTF-8 of text). */
  md5Hex(text: string): string;
  /** HMAC-MD5 of the concatenation of the parts. */
  hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
  /** A keyed HMAC-MD5 for many messages. */
  keyed(key: Uint8Array): KeyedHmacMd5;
}

/** @noble/hashes: synchronous JavaScript, everywhere; the portable path. */
export const nobleMd5Backend: Md5Backend = /* @__PURE__ */ Object.freeze({
  name: "noble",
  md5(parts: readonly Uint8Array[]): Uint8Array {
    const h = nobleMd5.create();
    for (const part of parts) h.update(part);
    return h.digest();
  },
  md5Hex: (text: string) => hex(nobleMd5(utf8(text))),
  hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    const h = hmac.create(nobleMd5, key);
    for (const part of parts) h.update(part);
    return h.digest();
  },
  keyed(key: Uint8Array): KeyedHmacMd5 {
    // The keyed state (inner and outer pads absorbed) is cloned for each message.
    const base = hmac.create(nobleMd5, key);
    return (seq, message) => base.clone().update(seq).update(message).digest();
  },
});

// The slice of node:crypto the MD5 backend uses (`hash` is Node >= 20.12, Deno, Bun).
interface NodeDigest {
  update(data: Uint8Array | string): NodeDigest;
  digest(): Uint8Array;
  digest(encoding: "hex"): string;
}
interface NodeMd5Slice {
  hash?(algorithm: string, data: string | Uint8Array, encoding: "hex"): string;
  createHash(algorithm: string): NodeDigest;
  createHmac(algorithm: string, key: Uint8Array): NodeDigest;
}

/** `node:crypto` MD5 and HMAC-MD5, or `undefined` where it is missing. */
export function nodeMd5Backend(): Md5Backend | undefined {
  const nc = loadNodeCrypto() as unknown as NodeMd5Slice | undefined;
  if (nc === undefined) return undefined;
  const { hash } = nc;
  const md5Hex = typeof hash === "function"
    ? (text: string) => hash("md5", text, "hex")
    : (text: string) => nc.createHash("md5").update(text).digest("hex");
  const mac = (key: Uint8Array, a: Uint8Array, b: Uint8Array) =>
    plain(nc.createHmac("md5", key).update(a).update(b).digest());
  // One-shot hash() on bytes, read back from hex: no Hash object (each carries a native handle
  // that costs the garbage collector more than the hashing) and no pooled Buffer.
  const md5 = typeof hash === "function"
    ? (parts: readonly Uint8Array[]) =>
      fromHex(hash("md5", parts.length === 1 ? parts[0] : joinParts(parts), "hex"))
    : (parts: readonly Uint8Array[]) => {
      const h = nc.createHash("md5");
      for (const part of parts) h.update(part);
      return plain(h.digest());
    };
  return /* @__PURE__ */ Object.freeze({
    name: "node:crypto",
    md5,
    md5Hex,
    hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
      const h = nc.createHmac("md5", key);
      for (const part of parts) h.update(part);
      return plain(h.digest());
    },
    // OpenSSL's HMAC object cannot be reset and reused from JavaScript; createHmac per message
    // still beats noble's keyed clone at every size in Node and Bun (bench/).
    keyed: (key: Uint8Array): KeyedHmacMd5 => {
      const k = key.slice();
      return (seq, message) => mac(k, seq, message);
    },
  });
}

// Deno's node:crypto costs about 20 ms to load and 3-4 us per call on bytes (more than noble
// for short inputs), but hashes a string in well under 1 us. So in Deno: bytes go to noble;
// strings go to noble until enough of them were hashed that loading node:crypto pays for itself
// (each noble call costs ~2 us more: 10,000 calls ~ the load), then to node:crypto; an HMAC of
// 1 KiB or more goes to node:crypto, below it to noble (the crossover measured in Deno 2.9).
function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// Lower-case hex as node:crypto writes it: '0'-'9' are 48-57, 'a'-'f' are 97-102.
function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = text.charCodeAt(2 * i);
    const lo = text.charCodeAt(2 * i + 1);
    out[i] = (((hi & 0xf) + (hi >> 6) * 9) << 4) | ((lo & 0xf) + (lo >> 6) * 9);
  }
  return out;
}

const DENO_STRINGS_BEFORE_NATIVE = 10_000;
const DENO_NATIVE_HMAC_FROM = 1024;

function denoMd5Backend(): Md5Backend {
  let strings = 0;
  let native: Md5Backend | undefined | null = null; // null: not loaded yet
  const loaded = () => native === null ? native = nodeMd5Backend() : native;
  return Object.freeze({
    name: "noble, node:crypto for many strings and long HMAC input",
    md5: nobleMd5Backend.md5,
    md5Hex(text: string): string {
      if (native === null && ++strings <= DENO_STRINGS_BEFORE_NATIVE) {
        return nobleMd5Backend.md5Hex(text);
      }
      return (loaded() ?? nobleMd5Backend).md5Hex(text);
    },
    hmac: nobleMd5Backend.hmac,
    keyed(key: Uint8Array): KeyedHmacMd5 {
      const small = nobleMd5Backend.keyed(key);
      let large: KeyedHmacMd5 | undefined;
      return (seq, message) => {
        if (message.length < DENO_NATIVE_HMAC_FROM) return small(seq, message);
        large ??= (loaded() ?? nobleMd5Backend).keyed(key);
        return large(seq, message);
      };
    },
  });
}

// Chosen by measurement (bench/, one 2-core machine, Node 20.20, Deno 2.9.6, Bun 1.4.5): in
// Node and Bun node:crypto is faster at every size for MD5 of strings (4-6x) and of bytes, and
// for HMAC-MD5 (2x at 64 B, 5-7x at 4 KiB); Deno mixes, as above; without node:crypto
// (browsers, workers) everything is noble.
function chooseMd5Backend(): Md5Backend {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  if (isDeno) return denoMd5Backend();
  return nodeMd5Backend() ?? nobleMd5Backend;
}

let activeMd5: Md5Backend | undefined;

/** The backend MD5 and HMAC-MD5 use in this runtime (chosen on first use). */
export function md5Backend(): Md5Backend {
  return activeMd5 ??= chooseMd5Backend();
}

/** MD5 of the concatenation of the given parts. */
export function md5(...parts: Uint8Array[]): Uint8Array {
  return md5Backend().md5(parts);
}

/** Lower-case hex of MD5 of the UTF-8 bytes of `text`. */
export function md5Hex(text: string): string {
  return md5Backend().md5Hex(text);
}

/** HMAC-MD5 of the concatenation of the given parts. */
export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return md5Backend().hmac(key, parts);
}

/** HMAC-MD5 keyed once, for the many buffers of one security-layer direction. */
export function keyedHmacMd5(key: Uint8Array): KeyedHmacMd5 {
  return md5Backend().keyed(key);
}

// The slice of node:crypto loadNodeCrypto checks for (the MD5 backend reads its own slice).
interface NodeCryptoSlice {
  pbkdf2Sync(...args: unknown[]): unknown;
}

// A Buffer is a Uint8Array; copy into a plain one so callers never hold pooled Buffer memory.
const plain = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

function loadNodeCrypto(): NodeCryptoSlice | undefined {
  // Read through globalThis so that browsers (no `process`) and bundlers see no Node global.
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  try {
    const mod = proc?.getBuiltinModule?.("node:crypto") as NodeCryptoSlice | undefined;
    return typeof mod?.pbkdf2Sync === "function" ? mod : undefined;
  } catch {
    return undefined;
  }
}
