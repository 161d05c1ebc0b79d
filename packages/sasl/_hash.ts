// The one seam through which saslkit hashes. Every mechanism calls these functions and nothing
// else, so that the backend can be chosen per runtime without touching mechanism code.
//
// MD5 and HMAC-MD5 (DIGEST-MD5, CRAM-MD5) are @noble/hashes: short inputs, synchronous callers.
// The SHA family for SCRAM (hash, HMAC, PBKDF2) goes through a backend chosen once per runtime
// by measurement (see `chooseShaBackend` below and bench/scram_bench.ts): `node:crypto` where
// `process.getBuiltinModule` gives it (synchronous, OpenSSL or the runtime's native code),
// WebCrypto `crypto.subtle` (asynchronous; the only native PBKDF2 in browsers), and
// @noble/hashes (portable JavaScript) when neither exists.
import { hmac } from "@noble/hashes/hmac.js";
import { md5 as nobleMd5, sha1 as nobleSha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 as noblePbkdf2 } from "@noble/hashes/pbkdf2.js";
import {
  sha224 as nobleSha224,
  sha256 as nobleSha256,
  sha384 as nobleSha384,
  sha512 as nobleSha512,
} from "@noble/hashes/sha2.js";

/** MD5 of the concatenation of the given parts. */
export function md5(...parts: Uint8Array[]): Uint8Array {
  const h = nobleMd5.create();
  for (const part of parts) h.update(part);
  return h.digest();
}

/** HMAC-MD5 of the concatenation of the given parts. */
export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(nobleMd5, key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** The hashes a certificate's signature can name, for tls-server-end-point (RFC 5929 §4.1). */
export type CertificateHashName = "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";

const CERTIFICATE_HASHES = {
  "SHA-224": nobleSha224,
  "SHA-256": nobleSha256,
  "SHA-384": nobleSha384,
  "SHA-512": nobleSha512,
} as const;

/** The hash of one certificate (synchronous @noble/hashes: one short input, once a connection). */
export function certificateHash(name: CertificateHashName, data: Uint8Array): Uint8Array {
  return CERTIFICATE_HASHES[name](data);
}

/** The hash functions SCRAM uses, by their WebCrypto names. */
export type ShaName = "SHA-1" | "SHA-256" | "SHA-512";

/** Output length in octets of each hash. */
export const SHA_LENGTH: Readonly<Record<ShaName, number>> = Object.freeze({
  "SHA-1": 20,
  "SHA-256": 32,
  "SHA-512": 64,
});

/**
 * One implementation of the SHA primitives. Results may be synchronous or a Promise; callers
 * always await. Inputs are never modified; outputs are fresh arrays the caller may wipe.
 */
export interface ShaBackend {
  /** What it is, for benchmarks and tests: `node:crypto`, `webcrypto`, `noble` or a mix. */
  readonly name: string;
  hash(name: ShaName, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  hmac(name: ShaName, key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  pbkdf2(
    name: ShaName,
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Uint8Array | Promise<Uint8Array>;
}

const NOBLE = { "SHA-1": nobleSha1, "SHA-256": nobleSha256, "SHA-512": nobleSha512 } as const;

/** @noble/hashes: synchronous JavaScript, everywhere. */
export const nobleBackend: ShaBackend = Object.freeze({
  name: "noble",
  hash: (name: ShaName, data: Uint8Array) => NOBLE[name](data),
  hmac: (name: ShaName, key: Uint8Array, data: Uint8Array) => hmac(NOBLE[name], key, data),
  pbkdf2: (name: ShaName, password: Uint8Array, salt: Uint8Array, c: number, dkLen: number) =>
    noblePbkdf2(NOBLE[name], password, salt, { c, dkLen }),
});

// The slice of node:crypto used here, typed locally so that nothing imports "node:crypto".
interface NodeCryptoSlice {
  createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } };
  createHmac(
    algorithm: string,
    key: Uint8Array,
  ): { update(data: Uint8Array): { digest(): Uint8Array } };
  pbkdf2Sync(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    keylen: number,
    digest: string,
  ): Uint8Array;
}

const NODE_NAME = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512" } as const;

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

/** `node:crypto` through `process.getBuiltinModule`, or `undefined` where it is missing. */
export function nodeBackend(): ShaBackend | undefined {
  const nc = loadNodeCrypto();
  if (nc === undefined) return undefined;
  return Object.freeze({
    name: "node:crypto",
    hash: (name: ShaName, data: Uint8Array) =>
      plain(nc.createHash(NODE_NAME[name]).update(data).digest()),
    hmac: (name: ShaName, key: Uint8Array, data: Uint8Array) =>
      plain(nc.createHmac(NODE_NAME[name], key).update(data).digest()),
    pbkdf2: (name: ShaName, password: Uint8Array, salt: Uint8Array, c: number, len: number) =>
      plain(nc.pbkdf2Sync(password, salt, c, len, NODE_NAME[name])),
  });
}

// WebCrypto wants ArrayBuffer-backed views; copying also detaches them from caller buffers.
const buf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

/** WebCrypto `crypto.subtle`, or `undefined` where it is missing (insecure browser contexts). */
export function webCryptoBackend(): ShaBackend | undefined {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return undefined;
  return Object.freeze({
    name: "webcrypto",
    hash: async (name: ShaName, data: Uint8Array) =>
      new Uint8Array(await subtle.digest(name, buf(data))),
    hmac: async (name: ShaName, key: Uint8Array, data: Uint8Array) => {
      const k = await subtle.importKey("raw", buf(key), { name: "HMAC", hash: name }, false, [
        "sign",
      ]);
      return new Uint8Array(await subtle.sign("HMAC", k, buf(data)));
    },
    pbkdf2: async (
      name: ShaName,
      password: Uint8Array,
      salt: Uint8Array,
      iterations: number,
      length: number,
    ) => {
      const k = await subtle.importKey("raw", buf(password), "PBKDF2", false, ["deriveBits"]);
      const bits = await subtle.deriveBits(
        { name: "PBKDF2", hash: name, salt: buf(salt), iterations },
        k,
        length * 8,
      );
      return new Uint8Array(bits);
    },
  });
}

// Chosen by measurement, per operation (bench/scram_bench.ts under Deno, bench/scram_pbkdf2.mjs
// under Node and Bun; one 2-core machine, Node 20.20.2, Deno 2.9.6, Bun 1.4.5; one run each):
//
//   PBKDF2-HMAC-SHA-256, 4096 iterations   node:crypto   WebCrypto   @noble/hashes
//     Node                                     0.86 ms      1.11 ms       5.60 ms
//     Bun                                      0.64 ms      0.61 ms       8.13 ms
//     Deno                                     2.58 ms      0.82 ms       6.81 ms
//   HMAC-SHA-256 of 200 bytes (SCRAM does ~5 per side; WebCrypto pays importKey on each)
//     Node                                     4.7 µs       168 µs        16.1 µs
//     Bun                                      1.5 µs        87 µs        11.2 µs
//     Deno                                    12.9 µs       133 µs        11.1 µs
//
// So: Node and Bun use node:crypto for everything (Bun's WebCrypto PBKDF2 is within noise of
// it, its HMAC far slower). Deno's node:crypto PBKDF2 is 3x slower than its WebCrypto, and its
// HMAC no faster than noble, so Deno (and browsers, which have no node:crypto) use WebCrypto
// for PBKDF2 and noble for HMAC and hashing; that also spares Deno loading node:crypto. Without
// crypto.subtle (an insecure browser context) everything is noble.
function chooseShaBackend(): ShaBackend {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const native = isDeno ? undefined : nodeBackend();
  if (native !== undefined) return native;
  const web = webCryptoBackend();
  if (web === undefined) return nobleBackend;
  return Object.freeze({
    name: "webcrypto pbkdf2, noble hmac and hash",
    hash: nobleBackend.hash,
    hmac: nobleBackend.hmac,
    pbkdf2: web.pbkdf2,
  });
}

let active: ShaBackend | undefined;

/** The backend SCRAM uses in this runtime (chosen on first use). */
export function shaBackend(): ShaBackend {
  return active ??= chooseShaBackend();
}

/** H(data). */
export function sha(name: ShaName, data: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve(shaBackend().hash(name, data));
}

/** HMAC-H(key, data). */
export function hmacSha(name: ShaName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve(shaBackend().hmac(name, key, data));
}

/** PBKDF2-HMAC-H(password, salt, iterations), the output as long as H's. */
export function pbkdf2Sha(
  name: ShaName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  return Promise.resolve(
    shaBackend().pbkdf2(name, password, salt, iterations, SHA_LENGTH[name]),
  );
}
