// PBKDF2-HMAC-SHA-256, 4096 iterations, the three backends of _sha.ts side by side, for the
// runtimes that cannot run `deno bench` (ratios within one run; not a test):
//
//   node packages/sasl/bench/scram_pbkdf2.mjs
//   npx bun packages/sasl/bench/scram_pbkdf2.mjs
//
// It calls the same primitives as _sha.ts (node:crypto pbkdf2Sync, crypto.subtle.deriveBits,
// @noble/hashes pbkdf2) because Node 20 cannot import the TypeScript seam itself.
import { createHmac, pbkdf2Sync } from "node:crypto";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";

const password = new TextEncoder().encode("pencil");
const salt = new Uint8Array(16).fill(7);
const ITERATIONS = 4096;

async function time(label, rounds, fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await fn();
  const ms = (performance.now() - start) / rounds;
  return { label, ms };
}

const runtime = typeof Bun !== "undefined"
  ? `Bun ${Bun.version}`
  : typeof Deno !== "undefined"
  ? `Deno ${Deno.version.deno}`
  : `Node ${process.version}`;
const results = [
  await time(
    "node:crypto pbkdf2Sync",
    50,
    () => pbkdf2Sync(password, salt, ITERATIONS, 32, "sha256"),
  ),
  await time("WebCrypto deriveBits", 50, async () => {
    const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
    return crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS },
      key,
      256,
    );
  }),
  await time(
    "@noble/hashes pbkdf2",
    10,
    () => pbkdf2(sha256, password, salt, { c: ITERATIONS, dkLen: 32 }),
  ),
];
// SCRAM's other primitives: a handful of HMACs of an AuthMessage (~200 bytes) per exchange.
const key = new Uint8Array(32).fill(9);
const authMessage = new Uint8Array(200).fill(0x61);
const hmacs = [
  await time(
    "node:crypto createHmac",
    2000,
    () => createHmac("sha256", key).update(authMessage).digest(),
  ),
  await time("WebCrypto importKey+sign", 2000, async () => {
    const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    return crypto.subtle.sign("HMAC", k, authMessage);
  }),
  await time("@noble/hashes hmac", 2000, () => hmac(sha256, key, authMessage)),
];
function print(title, rows, unit, scale) {
  console.log(title);
  const base = rows[0].ms;
  for (const { label, ms } of rows) {
    const value = (ms * scale).toFixed(3).padStart(8);
    console.log(`  ${label.padEnd(26)} ${value} ${unit}  ${(ms / base).toFixed(2)}x`);
  }
}
print(
  `${runtime}: PBKDF2-HMAC-SHA-256, ${ITERATIONS} iterations, 32-byte output`,
  results,
  "ms",
  1,
);
print(`${runtime}: HMAC-SHA-256 of 200 bytes`, hmacs, "µs", 1000);
