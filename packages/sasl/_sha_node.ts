// The SHA family through node:crypto (Node, Bun; Deno has it too but measured slower there):
// the backend of _sha.ts where `process.getBuiltinModule` gives node:crypto. Loaded by _sha.ts
// with import() only where it is chosen, so that a browser bundle does not carry it.
import { nodeCrypto } from "./_node_crypto.ts";
import type { ShaBackend, ShaName } from "./_sha.ts";

// The slice of node:crypto used here, typed locally so that nothing imports "node:crypto".
interface NodeCryptoSlice {
  hash?(algorithm: string, data: Uint8Array, encoding: "buffer"): Uint8Array;
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

/** `node:crypto` through `process.getBuiltinModule`, or `undefined` where it is missing. */
export function nodeBackend(): ShaBackend | undefined {
  const nc = nodeCrypto<NodeCryptoSlice>();
  if (typeof nc?.pbkdf2Sync !== "function") return undefined;
  const { hash } = nc;
  return Object.freeze({
    name: "node:crypto",
    // One-shot hash() (Node >= 20.12, Bun, Deno) creates no Hash object: 5-6x faster in Node.
    hash: typeof hash === "function"
      ? (name: ShaName, data: Uint8Array) => plain(hash(NODE_NAME[name], data, "buffer"))
      : (name: ShaName, data: Uint8Array) =>
        plain(nc.createHash(NODE_NAME[name]).update(data).digest()),
    hmac: (name: ShaName, key: Uint8Array, data: Uint8Array) =>
      plain(nc.createHmac(NODE_NAME[name], key).update(data).digest()),
    pbkdf2: (name: ShaName, password: Uint8Array, salt: Uint8Array, c: number, len: number) =>
      plain(nc.pbkdf2Sync(password, salt, c, len, NODE_NAME[name])),
  });
}
