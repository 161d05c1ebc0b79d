// Speed of SCRAM's primitives through each backend of the hashing seam (_hash.ts), and of a
// whole SCRAM-SHA-256 exchange, as ratios within one run (not timed tests): each group has a
// baseline, and `deno bench` prints how many times slower or faster the rest are.
//
//   deno bench -A packages/sasl/bench/scram_bench.ts   (or: npm run bench)
//   node packages/sasl/bench/scram_pbkdf2.mjs; npx bun packages/sasl/bench/scram_pbkdf2.mjs
//
// What one run showed (2-core machine, Deno 2.9.6, Node 20.20.2, Bun 1.4.5), per call:
//
//   PBKDF2-HMAC-SHA-256, 4096 iterations   node:crypto   WebCrypto   @noble/hashes
//     Deno (this file)                         2.6 ms       0.82 ms      6.8 ms
//     Node (scram_pbkdf2.mjs)                  0.86 ms      1.1 ms       5.6 ms
//     Bun  (scram_pbkdf2.mjs)                  0.64 ms      0.61 ms      8.1 ms
//   HMAC-SHA-256 of 200 bytes
//     Deno                                    12.9 µs       133 µs       11.1 µs
//     Node                                     4.7 µs       168 µs       16.1 µs
//     Bun                                      1.5 µs        87 µs       11.2 µs
//
// Hence the choice in _hash.ts: node:crypto in Node and Bun; WebCrypto PBKDF2 with noble HMAC
// and hashing in Deno and browsers; noble alone without crypto.subtle. The run of this file
// that the numbers above come from is in the commit that added it; run it again before
// changing the choice.
import {
  hmacSha,
  nobleBackend,
  nodeBackend,
  type ShaBackend,
  shaBackend,
  webCryptoBackend,
} from "../_hash.ts";
import {
  deriveScramCredentials,
  InMemoryScramCache,
  ScramClient,
  ScramServer,
} from "../scram/mod.ts";

const password = new TextEncoder().encode("pencil");
const salt = new Uint8Array(16).fill(7);
const key = new Uint8Array(32).fill(9);
const authMessage = new Uint8Array(200).fill(0x61);

const backends: [string, ShaBackend][] = [
  ["node:crypto", nodeBackend()!],
  ["WebCrypto", webCryptoBackend()!],
  ["@noble/hashes", nobleBackend],
];

for (const [label, backend] of backends) {
  Deno.bench(`PBKDF2-SHA-256 4096: ${label}`, {
    group: "pbkdf2",
    baseline: label === "node:crypto",
  }, async () => {
    await backend.pbkdf2("SHA-256", password, salt, 4096, 32);
  });
  Deno.bench(`HMAC-SHA-256 200 B: ${label}`, {
    group: "hmac",
    baseline: label === "node:crypto",
  }, async () => {
    await backend.hmac("SHA-256", key, authMessage);
  });
}
Deno.bench(`HMAC-SHA-256 200 B: the seam (${shaBackend().name})`, { group: "hmac" }, async () => {
  await hmacSha("SHA-256", key, authMessage);
});

const stored = await deriveScramCredentials("pencil", { hash: "SHA-256" });
const cache = new InMemoryScramCache();

async function exchange(withCache: boolean): Promise<void> {
  const server = new ScramServer({ hash: "SHA-256", credentials: () => stored });
  const client = new ScramClient({
    hash: "SHA-256",
    username: "user",
    password: "pencil",
    cache: withCache ? cache : undefined,
  });
  const first = await server.next(client.start());
  const final = await server.next(await client.next(first.challenge!));
  client.finish(final.challenge);
}

// Async functions: deno bench does not await a plain function that returns a promise.
Deno.bench("SCRAM-SHA-256 exchange, both sides", {
  group: "exchange",
  baseline: true,
}, async () => {
  await exchange(false);
});
Deno.bench("SCRAM-SHA-256 exchange, client cache hit", { group: "exchange" }, async () => {
  await exchange(true);
});
