// Mutated messages (seeded, so a failure reproduces) on both sides: every outcome is either a
// completed step or a SaslError, never another exception, and each step answers quickly.
import assert from "node:assert/strict";
import { SaslError } from "../error.ts";
import { deriveScramCredentials, ScramClient, ScramServer } from "./mod.ts";

const te = new TextEncoder();
const SEED = 0x5eed;

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = te.encode("=,abcnrsipvemy0129+/\0\xff ");

function mutate(message: Uint8Array, random: () => number): Uint8Array {
  const bytes = [...message];
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (bytes.length + 1));
    const pick = ALPHABET[Math.floor(random() * ALPHABET.length)];
    switch (Math.floor(random() * 5)) {
      case 0:
        bytes.splice(at, 1);
        break;
      case 1:
        bytes.splice(at, 0, pick);
        break;
      case 2:
        bytes[at] = pick;
        break;
      case 3:
        bytes.splice(at); // truncate
        break;
      default:
        bytes.splice(at, 0, ...bytes.slice(0, Math.floor(random() * 20))); // duplicate a run
    }
  }
  return new Uint8Array(bytes.map((b) => b ?? 0x61));
}

async function expectSaslErrorOrStep(step: () => Promise<unknown>, what: string): Promise<void> {
  const started = performance.now();
  try {
    await step();
  } catch (error) {
    assert.ok(error instanceof SaslError, `${what}: ${error}`);
  }
  assert.ok(performance.now() - started < 2000, `${what}: answered quickly`);
}

const stored = await deriveScramCredentials("pencil", { hash: "SHA-256", iterations: 4096 });

Deno.test("SCRAM fuzz: mutated client messages to the server", async () => {
  const random = prng(SEED);
  const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
  const clientFirst = client.start();
  const reference = new ScramServer({ hash: "SHA-256", credentials: () => stored });
  const clientFinal = await client.next((await reference.next(clientFirst)).challenge!);
  for (let i = 0; i < 300; i++) {
    const first = new ScramServer({ hash: "SHA-256", credentials: () => stored });
    await expectSaslErrorOrStep(() => first.next(mutate(clientFirst, random)), `first #${i}`);
    const final = new ScramServer({ hash: "SHA-256", credentials: () => stored });
    await final.next(clientFirst);
    await expectSaslErrorOrStep(async () => {
      const step = await final.next(mutate(clientFinal, random));
      if (!step.done) await final.next(new Uint8Array(0)); // throws the e= failure's error
    }, `final #${i}`);
  }
});

Deno.test("SCRAM fuzz: mutated server messages to the client", async () => {
  const random = prng(SEED + 1);
  const server = new ScramServer({ hash: "SHA-256", credentials: () => stored });
  const probe = new ScramClient({
    hash: "SHA-256",
    username: "user",
    password: "pencil",
    nonce: "fixednonce",
  });
  const serverFirst = (await server.next(probe.start())).challenge!;
  const serverFinal = (await server.next(await probe.next(serverFirst))).challenge!;
  for (let i = 0; i < 150; i++) {
    const client = new ScramClient({
      hash: "SHA-256",
      username: "user",
      password: "pencil",
      nonce: "fixednonce",
    });
    client.start();
    await expectSaslErrorOrStep(async () => {
      await client.next(mutate(serverFirst, random));
      client.finish(serverFinal);
    }, `server-first #${i}`);
    const verifying = new ScramClient({
      hash: "SHA-256",
      username: "user",
      password: "pencil",
      nonce: "fixednonce",
    });
    verifying.start();
    await verifying.next(serverFirst);
    await expectSaslErrorOrStep(
      () => Promise.resolve(verifying.finish(mutate(serverFinal, random))),
      `server-final #${i}`,
    );
  }
});
