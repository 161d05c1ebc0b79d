// The seam through which SCRAM hashes: SHA-1, SHA-256 and SHA-512 as hash, HMAC and PBKDF2,
// through a backend chosen once per runtime by measurement (see `chooseShaBackend` below and
// bench/scram_bench.ts): `node:crypto` where `process.getBuiltinModule` gives it (synchronous,
// OpenSSL or the runtime's native code), WebCrypto `crypto.subtle` (asynchronous; the only
// native code in browsers), and @noble/hashes (portable JavaScript). The node:crypto and noble
// backends live in _sha_node.ts and _sha_noble.ts, loaded with import() only where chosen, so
// that a browser bundle carries only the WebCrypto one.

/** The hash functions SCRAM uses, by their WebCrypto names. */
export type ShaName = "SHA-1" | "SHA-256" | "SHA-512";

/** Output length in octets of each hash. */
export const SHA_LENGTH: Readonly<Record<ShaName, number>> = /* @__PURE__ */ Object.freeze({
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

// ---- WebCrypto --------------------------------------------------------------------------------

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
      const raw = buf(key);
      const k = await subtle.importKey("raw", raw, { name: "HMAC", hash: name }, false, ["sign"]);
      raw.fill(0); // the copy of a secret key; WebCrypto keeps its own
      return new Uint8Array(await subtle.sign("HMAC", k, buf(data)));
    },
    pbkdf2: async (
      name: ShaName,
      password: Uint8Array,
      salt: Uint8Array,
      iterations: number,
      length: number,
    ) => {
      const raw = buf(password);
      const k = await subtle.importKey("raw", raw, "PBKDF2", false, ["deriveBits"]);
      raw.fill(0);
      const bits = await subtle.deriveBits(
        { name: "PBKDF2", hash: name, salt: buf(salt), iterations },
        k,
        length * 8,
      );
      return new Uint8Array(bits);
    },
  });
}

// ---- the choice -------------------------------------------------------------------------------
// Chosen by measurement, per operation and runtime (bench/scram_bench.ts under Deno,
// bench/scram_pbkdf2.mjs under Node, Bun and Deno, and loops over the primitives as SCRAM calls
// them; one 2-core machine shared with other jobs, load 3-8, Node 20.20.2, Deno 2.9.6, Bun
// 1.4.5; absolute times are inflated by the load, the ratios within a runtime are what count):
//
//   PBKDF2-HMAC-SHA-256, 4096 iterations   node:crypto    WebCrypto      @noble/hashes
//     Node                                 0.86-1.34 ms   1.10-1.47 ms   5.6-10.3 ms
//     Bun                                  0.46-0.64 ms   0.50-0.86 ms   6.5-8.1 ms
//     Deno                                 2.5-4.0 ms     0.73-1.3 ms    5.8-11.5 ms
//   HMAC-SHA-256, 32-byte key, 110 bytes (the client does 4, the server 2)
//     Node                                 8 µs           134-239 µs     16 µs
//     Bun                                  2 µs           17-87 µs       20 µs
//     Deno                                 27-50 µs       74-133 µs      11-25 µs
//   SHA-256 of 32 bytes (StoredKey; one a side)   hash()    createHash    @noble/hashes
//     Node                                        0.9 µs    5.4 µs        5.1 µs
//     Bun                                         0.7 µs    1.5 µs        3.9 µs
//     Deno                                        3.8 µs    12.9 µs       9.0 µs
//
// So: Node and Bun use node:crypto for everything, the hash as one-shot hash() (Bun's WebCrypto
// PBKDF2 is no faster, its HMAC far slower). Deno's node:crypto PBKDF2 is 3-4x slower than its
// WebCrypto and its HMAC 2x slower than noble, so Deno uses WebCrypto for PBKDF2 and noble for
// HMAC and hashing: its hash() would save about 5 µs twice an exchange, but loading node:crypto
// costs Deno 13-20 ms once, thousands of exchanges' worth. Browsers and workers (no node:crypto)
// use WebCrypto for everything: it is their only native code, and it keeps noble's SHA-2 out of
// a browser bundle. Without crypto.subtle (an insecure browser context) everything is noble.
async function chooseShaBackend(): Promise<ShaBackend> {
  const web = webCryptoBackend();
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  if (isDeno && web !== undefined) {
    const { nobleBackend } = await import("./_sha_noble.ts");
    return Object.freeze({
      name: "webcrypto pbkdf2, noble hmac and hash",
      hash: nobleBackend.hash,
      hmac: nobleBackend.hmac,
      pbkdf2: web.pbkdf2,
    });
  }
  // Read through globalThis so that browsers (no `process`) and bundlers see no Node global.
  const proc = (globalThis as { process?: { getBuiltinModule?: unknown } }).process;
  if (typeof proc?.getBuiltinModule === "function") {
    const native = (await import("./_sha_node.ts")).nodeBackend();
    if (native !== undefined) return native;
  }
  return web ?? (await import("./_sha_noble.ts")).nobleBackend;
}

let active: ShaBackend | undefined;
let choosing: Promise<ShaBackend> | undefined;

/**
 * The backend SCRAM uses in this runtime, chosen (and its module loaded) on the first call; an
 * awaited result makes the next calls of sha(), hmacSha() and pbkdf2Sha() skip the wait.
 */
export function shaBackend(): Promise<ShaBackend> {
  return choosing ??= chooseShaBackend().then((backend) => active = backend);
}

/** H(data). */
export function sha(name: ShaName, data: Uint8Array): Promise<Uint8Array> {
  const backend = active;
  if (backend !== undefined) return Promise.resolve(backend.hash(name, data));
  return shaBackend().then((b) => b.hash(name, data));
}

/** HMAC-H(key, data). */
export function hmacSha(name: ShaName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const backend = active;
  if (backend !== undefined) return Promise.resolve(backend.hmac(name, key, data));
  return shaBackend().then((b) => b.hmac(name, key, data));
}

/** PBKDF2-HMAC-H(password, salt, iterations), the output as long as H's. */
export function pbkdf2Sha(
  name: ShaName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const length = SHA_LENGTH[name];
  const backend = active;
  if (backend !== undefined) {
    return Promise.resolve(backend.pbkdf2(name, password, salt, iterations, length));
  }
  return shaBackend().then((b) => b.pbkdf2(name, password, salt, iterations, length));
}
