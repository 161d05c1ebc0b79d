// Speed of the hashing seam and of DIGEST-MD5, as ratios within one run: each group has a
// baseline, and `deno bench` prints how many times slower or faster the rest are.
//
//   deno bench -A packages/sasl/bench/   (or: npm run bench)
import { createHash, createHmac } from "node:crypto";
import { hmacMd5, md5 } from "../_hash.ts";
import {
  allCiphers,
  ciphersByName,
  type DigestCipher,
  DigestMd5Client,
  DigestMd5Server,
  type Qop,
} from "../mod.ts";

const short = new TextEncoder().encode("chris:elwood.innosoft.com:secret:nonce:cnonce");
const key = new Uint8Array(16).fill(7);
const block = new Uint8Array(4096).fill(0x41);

Deno.bench("MD5 64 B: node:crypto", { group: "md5", baseline: true }, () => {
  createHash("md5").update(short).digest();
});
Deno.bench("MD5 64 B: saslkit seam (@noble/hashes)", { group: "md5" }, () => {
  md5(short);
});

Deno.bench("HMAC-MD5 4 KiB: node:crypto", { group: "hmac", baseline: true }, () => {
  createHmac("md5", key).update(block).digest();
});
Deno.bench("HMAC-MD5 4 KiB: saslkit seam (@noble/hashes)", { group: "hmac" }, () => {
  hmacMd5(key, block);
});

function exchange(qop: Qop, cipher?: DigestCipher) {
  const server = new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    qop: ["auth", "auth-int", "auth-conf"],
    ciphers: allCiphers,
    credentials: () => ({ password: "secret" }),
  });
  const client = new DigestMd5Client({
    username: "smtpuser",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: [qop],
    ciphers: cipher ? ciphersByName([cipher]) : undefined,
  });
  client.start();
  const final = server.next(client.next(server.next(undefined).challenge!));
  client.next(final.challenge!);
  return { client: client.finish(), server: server.outcome() };
}

Deno.bench("DIGEST-MD5 exchange, both sides", { group: "exchange", baseline: true }, () => {
  exchange("auth");
});

const message = new Uint8Array(1024).fill(0x61);
for (
  const [name, qop, cipher] of [
    ["auth-int", "auth-int", undefined],
    ["rc4", "auth-conf", "rc4"],
    ["3des", "auth-conf", "3des"],
  ] as const
) {
  const layers = exchange(qop, cipher);
  Deno.bench(`wrap+unwrap 1 KiB: ${name}`, {
    group: "layer",
    baseline: name === "auth-int",
  }, () => {
    layers.server.securityLayer!.unwrap(layers.client.securityLayer!.wrap(message));
  });
}
