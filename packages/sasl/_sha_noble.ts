// The SHA family through @noble/hashes: the portable SHA backend of _sha.ts (which loads this
// module with import() only where it is chosen, so that a browser bundle, which uses WebCrypto,
// does not carry noble's SHA-2), and the synchronous certificate hash of tls-server-end-point.
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { ShaBackend, ShaName } from "./_sha.ts";

const NOBLE = { "SHA-1": sha1, "SHA-256": sha256, "SHA-512": sha512 } as const;

/** @noble/hashes: synchronous JavaScript, everywhere; the portable path. */
export const nobleBackend: ShaBackend = /* @__PURE__ */ Object.freeze({
  name: "noble",
  hash: (name: ShaName, data: Uint8Array) => NOBLE[name](data),
  hmac: (name: ShaName, key: Uint8Array, data: Uint8Array) => hmac(NOBLE[name], key, data),
  pbkdf2: (name: ShaName, password: Uint8Array, salt: Uint8Array, c: number, dkLen: number) =>
    pbkdf2(NOBLE[name], password, salt, { c, dkLen }),
});

/** The hashes a certificate's signature can name, for tls-server-end-point (RFC 5929 §4.1). */
export type CertificateHashName = "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";

const CERTIFICATE_HASHES = {
  "SHA-224": sha224,
  "SHA-256": sha256,
  "SHA-384": sha384,
  "SHA-512": sha512,
} as const;

/** The hash of one certificate (synchronous @noble/hashes: one short input, once a connection). */
export function certificateHash(name: CertificateHashName, data: Uint8Array): Uint8Array {
  return CERTIFICATE_HASHES[name](data);
}
