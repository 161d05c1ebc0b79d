// Offline: SCRAM exchanges that real peers had with each other (Cyrus SASL 2.1.28 with itself,
// GNU SASL 2.2 with itself, Cyrus's client with PostgreSQL 15; testdata/scram/, recorded by
// scram_transcripts.ts) replayed with saslkit in each seat. Given the recorded nonce (and, as a
// server, the recorded salt and iteration count), saslkit must produce every message of the
// other side byte for byte and accept the peer's. Runs without any peer installed.

import assert from "node:assert/strict";
import { decodeBase64 } from "../base64.ts";
import type { ChannelBindingType } from "../mechanism.ts";
import { deriveScramCredentials, ScramClient, ScramServer } from "../scram/mod.ts";
import { loadScramTranscripts, type ScramTranscript } from "./scram_transcripts.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (data: Uint8Array | undefined) => decoder.decode(data);

function unhex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function attribute(message: string, name: string): string {
  const found = message.split(",").find((part) => part.startsWith(`${name}=`));
  if (found === undefined) throw new Error(`no ${name}= in ${message}`);
  return found.slice(name.length + 1);
}

function nonces(t: ScramTranscript): { client: string; server: string } {
  const client = attribute(t.messages[0], "r");
  const full = attribute(t.messages[1], "r");
  assert.ok(full.startsWith(client));
  return { client, server: full.slice(client.length) };
}

function binding(t: ScramTranscript) {
  return t.channelBinding
    ? { type: t.channelBinding.type as ChannelBindingType, data: unhex(t.channelBinding.data) }
    : undefined;
}

const transcripts = loadScramTranscripts();

Deno.test("scram transcripts: every peer and binding type is covered", () => {
  const names = transcripts.map((t) => t.name);
  assert.deepEqual(names, [
    "cyrus-scram-sha-1",
    "cyrus-scram-sha-256",
    "cyrus-scram-sha-256-plus-tls-unique",
    "cyrus-scram-sha-512",
    "cyrus-scram-sha-512-plus-tls-unique",
    "gsasl-scram-sha-1",
    "gsasl-scram-sha-256-plus-tls-exporter",
    "postgres-scram-sha-256",
    "postgres-scram-sha-256-plus",
  ]);
});

for (const t of transcripts) {
  Deno.test(`scram transcript ${t.name}: saslkit client in the ${t.peers.split(" -> ")[0]} seat`, async () => {
    const cb = binding(t);
    const client = new ScramClient({
      hash: t.hash,
      username: t.username,
      password: t.password,
      authorizationId: t.authzid,
      channelBinding: cb,
      serverOffersPlus: cb !== undefined,
      nonce: nonces(t).client,
    });
    assert.equal(client.name, t.mechanism);
    assert.equal(text(client.start()), t.messages[0]);
    assert.equal(text(await client.next(bytes(t.messages[1]))), t.messages[2]);
    const outcome = client.finish(bytes(t.messages[3]));
    assert.equal(outcome.mechanism, t.mechanism);
    assert.equal(outcome.authorizationId, t.authzid);
  });

  Deno.test(`scram transcript ${t.name}: saslkit server in the ${t.peers.split(" -> ")[1]} seat`, async () => {
    const cb = binding(t);
    const credentials = await deriveScramCredentials(t.password, {
      hash: t.hash,
      salt: decodeBase64(attribute(t.messages[1], "s")),
      iterations: Number(attribute(t.messages[1], "i")),
    });
    const server = new ScramServer({
      hash: t.hash,
      plus: cb !== undefined,
      credentials: (username) => username === t.username ? credentials : undefined,
      channelBindings: cb ? { [cb.type]: cb.data } : undefined,
      authorize: (authcid, authzid) => authcid === t.username && authzid === t.authzid,
      nonce: nonces(t).server,
    });
    assert.equal(server.name, t.mechanism);
    const first = await server.next(bytes(t.messages[0]));
    assert.equal(first.done, false);
    assert.equal(text(first.challenge), t.messages[1]);
    const final = await server.next(bytes(t.messages[2]));
    assert.equal(final.done, true);
    assert.equal(text(final.challenge), t.messages[3]);
    assert.equal(server.outcome().authenticationId, t.username);
    assert.equal(server.outcome().authorizationId, t.authzid);
  });
}
