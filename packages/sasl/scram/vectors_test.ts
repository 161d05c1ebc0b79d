// The published SCRAM exchanges (RFC 5802 §5, RFC 7677 §3) through both sides, byte for byte,
// and a SHA-512 round trip (no published vector exists).
import assert from "node:assert/strict";
import { decodeBase64 } from "../base64.ts";
import { deriveScramCredentials, ScramClient, type ScramHash, ScramServer } from "./mod.ts";

const te = new TextEncoder();
const td = new TextDecoder();

interface Vector {
  readonly hash: ScramHash;
  readonly clientNonce: string;
  readonly serverNonce: string;
  readonly salt: string;
  readonly clientFirst: string;
  readonly serverFirst: string;
  readonly clientFinal: string;
  readonly serverFinal: string;
}

const VECTORS: readonly Vector[] = [
  {
    // RFC 5802 §5
    hash: "SHA-1",
    clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
    serverNonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    clientFinal:
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  },
  {
    // RFC 7677 §3
    hash: "SHA-256",
    clientNonce: "rOprNGfwEbeRWgbNEkqO",
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    serverFirst:
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  },
];

for (const v of VECTORS) {
  Deno.test(`SCRAM-${v.hash}: the RFC client sends the published messages`, async () => {
    const client = new ScramClient({
      hash: v.hash,
      username: "user",
      password: "pencil",
      nonce: v.clientNonce,
    });
    assert.equal(client.name, `SCRAM-${v.hash}`);
    assert.equal(td.decode(client.start()), v.clientFirst);
    assert.equal(td.decode(await client.next(te.encode(v.serverFirst))), v.clientFinal);
    const outcome = client.finish(te.encode(v.serverFinal));
    assert.deepEqual(outcome, {
      mechanism: `SCRAM-${v.hash}`,
      authenticationId: "user",
      qop: "auth",
      iterations: 4096,
    });
  });

  Deno.test(`SCRAM-${v.hash}: the RFC server sends the published messages`, async () => {
    const stored = await deriveScramCredentials("pencil", {
      hash: v.hash,
      salt: decodeBase64(v.salt),
      iterations: 4096,
    });
    const server = new ScramServer({
      hash: v.hash,
      credentials: (name) => name === "user" ? stored : undefined,
      nonce: v.serverNonce,
    });
    assert.deepEqual(await server.next(undefined), { challenge: new Uint8Array(0), done: false });
    const first = await server.next(te.encode(v.clientFirst));
    assert.equal(first.done, false);
    assert.equal(td.decode(first.challenge), v.serverFirst);
    const final = await server.next(te.encode(v.clientFinal));
    assert.equal(final.done, true);
    assert.equal(td.decode(final.challenge), v.serverFinal);
    assert.deepEqual(server.outcome(), {
      mechanism: `SCRAM-${v.hash}`,
      authenticationId: "user",
      qop: "auth",
    });
  });

  Deno.test(`SCRAM-${v.hash}: server-final through next() then finish() without data`, async () => {
    const client = new ScramClient({
      hash: v.hash,
      username: "user",
      password: "pencil",
      nonce: v.clientNonce,
    });
    client.start();
    await client.next(te.encode(v.serverFirst));
    assert.deepEqual(await client.next(te.encode(v.serverFinal)), new Uint8Array(0));
    assert.equal(client.finish().authenticationId, "user");
  });
}

for (const hash of ["SHA-1", "SHA-256", "SHA-512"] as const) {
  Deno.test(`SCRAM-${hash}: round trip with random nonces and salt`, async () => {
    const stored = await deriveScramCredentials("pencil", { hash });
    assert.equal(stored.storedKey.length, hash === "SHA-1" ? 20 : hash === "SHA-256" ? 32 : 64);
    const server = new ScramServer({ hash, credentials: () => stored });
    const client = new ScramClient({ hash, username: "user", password: "pencil" });
    const first = await server.next(client.start());
    const final = await server.next(await client.next(first.challenge!));
    assert.equal(final.done, true);
    assert.equal(client.finish(final.challenge).mechanism, `SCRAM-${hash}`);
    assert.equal(server.outcome().mechanism, `SCRAM-${hash}`);
  });
}
