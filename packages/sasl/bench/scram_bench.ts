// Speed of SCRAM's primitives through each backend of the SCRAM hashing seam (_sha.ts), and of a
// whole SCRAM-SHA-256 exchange, as ratios within one run (not timed tests): each group has a
// baseline, and `deno bench` prints how many times slower or faster the rest are.
//
//   deno bench -A packages/sasl/bench/scram_bench.ts   (or: npm run bench)
//   node packages/sasl/bench/scram_pbkdf2.mjs; npx bun packages/sasl/bench/scram_pbkdf2.mjs
//
// One run of this file (Deno 2.9.6, a 2-core machine shared with other jobs, so absolute
// times are noisy; the ratios are what counts):
//
//   PBKDF2-SHA-256 4096: WebCrypto 0.88 ms; node:crypto 7.5x slower; @noble/hashes 16x slower
//   HMAC-SHA-256 200 B: noble and node:crypto within 1.1x; WebCrypto (importKey+sign) 3.2x slower
//   SCRAM-SHA-256 exchange, both sides: 2.8 ms; with a client cache hit (no PBKDF2) 12.9x faster
//
// Node and Bun cannot run this file; bench/scram_pbkdf2.mjs measures the same primitives there
// (Node: node:crypto PBKDF2 0.86-1.34 ms, WebCrypto 1.1x slower, noble 6-10x slower; Bun:
// node:crypto 0.46-0.64 ms, WebCrypto 1.1-1.8x, noble 13-17x; HMAC: node:crypto fastest in
// both, WebCrypto 8-60x slower). The choice these numbers made is written at
// `chooseShaBackend` in _sha.ts; run both again before changing it.
import { hmacSha, type ShaBackend, shaBackend, webCryptoBackend } from "../_sha.ts";
import { nodeBackend } from "../_sha_node.ts";
import { nobleBackend } from "../_sha_noble.ts";
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
Deno.bench(
  `HMAC-SHA-256 200 B: the seam (${(await shaBackend()).name})`,
  { group: "hmac" },
  async () => {
    await hmacSha("SHA-256", key, authMessage);
  },
);

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
