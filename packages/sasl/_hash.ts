// The seam through which saslkit computes MD5 and HMAC-MD5. Every mechanism calls these
// functions and nothing else, so that the backend can be chosen per runtime without touching
// mechanism code.
//
// MD5 and HMAC-MD5 (DIGEST-MD5, CRAM-MD5, the DIGEST-MD5 layers) go through a backend chosen
// once per runtime by measurement (see `chooseMd5Backend` below and bench/): `node:crypto`
// where `process.getBuiltinModule` gives it, @noble/hashes everywhere else.
// The SHA family for SCRAM (hash, HMAC, PBKDF2) has its own seam, _sha.ts; the certificate
// hash of tls-server-end-point is in _sha_noble.ts.
import { hmac } from "@noble/hashes/hmac.js";
import { md5 as nobleMd5 } from "@noble/hashes/legacy.js";
import { createHasher } from "@noble/hashes/utils.js";
import { concat, hex, utf8 } from "./_bytes.ts";
import { nodeCrypto } from "./_node_crypto.ts";

/**
 * HMAC-MD5 under one key, kept for many messages (a security layer's direction): the MAC of
 * `seq | message`. Keying once saves re-hashing the padded key for every buffer.
 */
export type KeyedHmacMd5 = (seq: Uint8Array, message: Uint8Array) => Uint8Array;

/**
 * One implementation of MD5 and HMAC-MD5. Inputs are never modified (but by `md5Into`, whose
 * `out` may be its input); outputs are fresh.
 */
export interface Md5Backend {
  /** What it is, for benchmarks and tests: `node:crypto`, `noble` or a mix. */
  readonly name: string;
  /** MD5 of the concatenation of the parts. */
  md5(parts: readonly Uint8Array[]): Uint8Array;
  /**
   * Writes MD5(data) into `out[0..16)` and allocates as little as the backend can: no typed
   * array at all for noble under 64 bytes. `out` may overlap `data`.
   */
  md5Into(data: Uint8Array, out: Uint8Array): void;
  /** Lower-case hex of MD5(UTF-8 of text). */
  md5Hex(text: string): string;
  /** HMAC-MD5 of the concatenation of the parts. */
  hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
  /** A keyed HMAC-MD5 for many messages. */
  keyed(key: Uint8Array): KeyedHmacMd5;
}

// noble's create() allocates a 64-byte block and its DataView, and digest() the output: in Deno
// each typed array costs about 0.5 us, more than the hashing of a short input. So md5Into runs
// on one state, reset from a pristine one (never updated) by `_cloneInto` (what noble's own
// HMAC uses), digested into its own block as noble's digest() does, and wiped by `destroy()`
// after every call, so no input or digest outlives the call. It calls nothing of the caller's,
// so no call can start inside another.
let md5States: ReturnType<typeof nobleMd5.create>[] | undefined; // [pristine, reused]

function nobleMd5Into(data: Uint8Array, out: Uint8Array): void {
  const [pristine, h] = md5States ??= [nobleMd5.create(), nobleMd5.create()];
  // deno-lint-ignore no-explicit-any
  (pristine as any)._cloneInto(h);
  try {
    h.update(data);
    // The block buffer, as digest() passes it: no DataView for `out`.
    const block = (h as unknown as { buffer: Uint8Array }).buffer;
    h.digestInto(block);
    for (let i = 0; i < 16; i++) out[i] = block[i];
  } finally {
    h.destroy();
  }
}

/**
 * For tests: every byte and word the reused noble state holds between calls (all zero once it
 * is wiped), or `undefined` before its first use.
 */
export function reusedMd5Residue(): number[] | undefined {
  if (md5States === undefined) return undefined;
  const h = md5States[1] as unknown as { buffer: Uint8Array; get(): number[] };
  return [...h.buffer, ...h.get()];
}

/** @noble/hashes: synchronous JavaScript, everywhere; the portable path. */
export const nobleMd5Backend: Md5Backend = /* @__PURE__ */ Object.freeze({
  name: "noble",
  md5: md5Via(nobleMd5Into),
  md5Into: nobleMd5Into,
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
  /** A Hash's state, duplicated (Node >= 13, Deno, Bun); an Hmac has none. */
  copy?(): NodeDigest;
}
interface NodeMd5Slice {
  hash?(algorithm: string, data: string | Uint8Array, encoding: "hex"): string;
  createHash(algorithm: string): NodeDigest;
  createHmac(algorithm: string, key: Uint8Array): NodeDigest;
}

/** `node:crypto` MD5 and HMAC-MD5, or `undefined` where it is missing. */
export function nodeMd5Backend(): Md5Backend | undefined {
  const nc = nodeCrypto<NodeMd5Slice>();
  if (typeof nc?.createHash !== "function") return undefined;
  const { hash } = nc;
  // One-shot hash() of a string or bytes (Node >= 20.12, Deno, Bun), read back from hex: no
  // Hash object (each carries a native handle that costs the garbage collector more than the
  // hashing) and no pooled Buffer. Into `out`: in Node and Bun 2-3x faster than noble's reused
  // state.
  const md5Hex = typeof hash === "function"
    ? (data: string | Uint8Array) => hash("md5", data, "hex")
    : (data: string | Uint8Array) => nc.createHash("md5").update(data).digest("hex");
  const md5Into = (data: Uint8Array, out: Uint8Array) => hexInto(md5Hex(data), out);
  // Read back from hex: no Buffer per MAC (measured 0.7-1 us less per call in Node 20).
  const mac = (key: Uint8Array, a: Uint8Array, b: Uint8Array) =>
    fromHex(nc.createHmac("md5", key).update(a).update(b).digest("hex"));
  return /* @__PURE__ */ Object.freeze({
    name: "node:crypto",
    md5: md5Via(md5Into),
    md5Into,
    md5Hex,
    hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
      const h = nc.createHmac("md5", key);
      for (const part of parts) h.update(part);
      return fromHex(h.digest("hex"));
    },
    // OpenSSL's HMAC object cannot be reset and reused from JavaScript; createHmac per message
    // still beats noble's keyed clone at every size in Node and Bun (bench/).
    keyed: (key: Uint8Array): KeyedHmacMd5 => {
      const k = key.slice();
      return (seq, message) => mac(k, seq, message);
    },
  });
}

/**
 * HMAC-MD5 keyed once as @noble/hashes' HMAC computes it, over node:crypto's MD5: the key's
 * inner and outer pads are absorbed once into two node:crypto Hash objects, and each message
 * runs on `copy()`s of them. So the HMAC construction is noble's and the MD5 is native, with no
 * Hmac object (and no key schedule) per message. `undefined` without node:crypto or Hash.copy.
 * Built once: one class for every key keeps noble's calls into it monomorphic.
 */
export function nodeMd5KeyedHmac(): ((key: Uint8Array) => KeyedHmacMd5) | undefined {
  if (nodeKeyed === null) nodeKeyed = makeNodeMd5KeyedHmac();
  return nodeKeyed;
}

let nodeKeyed: ((key: Uint8Array) => KeyedHmacMd5) | undefined | null = null;

function makeNodeMd5KeyedHmac(): ((key: Uint8Array) => KeyedHmacMd5) | undefined {
  const nc = nodeCrypto<NodeMd5Slice>();
  if (typeof nc?.createHash !== "function" || typeof nc.createHash("md5").copy !== "function") {
    return undefined;
  }
  // An MD5 in the shape noble's HMAC drives (createHasher): update, digestInto, _cloneInto.
  class NativeMd5 {
    readonly blockLen = 64;
    readonly outputLen = 16;
    readonly canXOF = false;
    finished = false;
    destroyed = false;
    constructor(readonly state: NodeDigest = nc!.createHash("md5")) {}
    update(data: Uint8Array): this {
      this.state.update(data);
      return this;
    }
    digestInto(out: Uint8Array): void {
      this.finished = true;
      // Hex, not a Buffer: Deno builds a Buffer per digest, which costs more than the parse.
      hexInto(this.state.digest("hex"), out);
    }
    digest(): Uint8Array<ArrayBuffer> {
      const out = new Uint8Array(16);
      this.digestInto(out);
      return out;
    }
    _cloneInto(): NativeMd5 {
      return new NativeMd5(this.state.copy!());
    }
    clone(): NativeMd5 {
      return this._cloneInto();
    }
    destroy(): void {
      this.destroyed = true;
    }
  }
  const md5 = createHasher(() => new NativeMd5());
  return (key: Uint8Array): KeyedHmacMd5 => {
    const base = hmac.create(md5, key);
    return (seq, message) => base.clone().update(seq).update(message).digest();
  };
}

// MD5 of parts, fresh, through an md5Into.
function md5Via(into: Md5Backend["md5Into"]): Md5Backend["md5"] {
  return (parts) => {
    const out = new Uint8Array(16);
    into(parts.length === 1 ? parts[0] : concat(...parts), out);
    return out;
  };
}

// Lower-case hex as node:crypto writes it: '0'-'9' are 48-57, 'a'-'f' are 97-102.
function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  hexInto(text, out);
  return out;
}

function hexInto(text: string, out: Uint8Array): void {
  for (let i = 0; i < text.length >> 1; i++) {
    const hi = text.charCodeAt(2 * i);
    const lo = text.charCodeAt(2 * i + 1);
    out[i] = (((hi & 0xf) + (hi >> 6) * 9) << 4) | ((lo & 0xf) + (lo >> 6) * 9);
  }
}

// Deno's node:crypto costs about 20 ms to load and 3-4 us per call on bytes (more than noble
// for short inputs), but hashes a string in well under 1 us. So in Deno: bytes go to noble;
// strings go to noble until enough of them were hashed that loading node:crypto pays for itself
// (each noble call costs ~2 us more: 10,000 calls ~ the load), then to node:crypto. A layer's
// keyed HMAC stays on noble for messages under 1 KiB until node:crypto is loaded (by its first
// message of 1 KiB or more, or by the strings), then runs noble's HMAC over node:crypto's MD5
// (nodeMd5KeyedHmac) at every size. Measured in Deno 2.9.6 (CPU time per HMAC of seq | message,
// 2-core machine under load): 64 B noble 9.6 us, createHmac 16.9, noble-over-native 6.8;
// 1 KiB 18.7 / 41.2 / 8.1; 4 KiB 45.0 / 26.0 / 13.4; 64 KiB 573 / 131 / 116. Deno's createHmac
// builds a stream and two Hash objects per message, hence the gap.
const DENO_STRINGS_BEFORE_NATIVE = 10_000;
const DENO_NATIVE_HMAC_FROM = 1024;

function denoMd5Backend(): Md5Backend {
  let strings = 0;
  let native: Md5Backend | undefined | null = null; // null: not loaded yet
  const loaded = () => native === null ? native = nodeMd5Backend() : native;
  // md5, md5Into and hmac are noble's: its reused state (md5Into) measured as fast as
  // node:crypto's hash() on short bytes (0.9-1.1 us each) and needs no node:crypto loaded; a
  // fresh noble state costs 2x that.
  return Object.freeze({
    ...nobleMd5Backend,
    name: "noble, node:crypto for many strings, layer HMAC noble over node:crypto MD5",
    md5Hex(text: string): string {
      if (native === null && ++strings <= DENO_STRINGS_BEFORE_NATIVE) {
        return nobleMd5Backend.md5Hex(text);
      }
      return (loaded() ?? nobleMd5Backend).md5Hex(text);
    },
    keyed(key: Uint8Array): KeyedHmacMd5 {
      const small = nobleMd5Backend.keyed(key);
      let large: KeyedHmacMd5 | undefined;
      return (seq, message) => {
        if (large === undefined) {
          if (native === null && message.length < DENO_NATIVE_HMAC_FROM) return small(seq, message);
          large = (loaded() && nodeMd5KeyedHmac()?.(key)) || small;
        }
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

/**
 * Writes MD5(data) into `out[0..16)` (which may overlap `data`), allocating as little as the
 * backend can: for secrets hashed into a buffer the caller wipes.
 */
export function md5Into(data: Uint8Array, out: Uint8Array): void {
  md5Backend().md5Into(data, out);
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
