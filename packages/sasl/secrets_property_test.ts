// No secret in any error message or transcript line, for every mechanism: the password, the
// DIGEST-MD5 and CRAM-MD5 responses, the SCRAM proof and its derived keys. Exchanges are run
// with the right and a wrong password, and with every client and server message mutated (the
// fuzzer's mutator, fixed seed), and every SaslError message, cause included, and every
// redact()ed client message is searched for each secret in the forms it could leak in.
import assert from "node:assert/strict";
import { decodeBase64, defaultRegistry, encodeBase64, SaslError } from "./mod.ts";
import type { ClientMechanism, ServerMechanism } from "./mechanism.ts";
import type { Credentials } from "./credentials.ts";
import { deriveScramCredentials, ScramClient, ScramServer } from "./scram/mod.ts";
// @ts-types="../../scripts/fuzz.d.mts"
import { mutate, prng } from "../../scripts/fuzz.mjs";

const PASSWORD = "Pa55-wörd-7f3a9c";
const TOKEN = "ya29.Tok3n-secret-b7c1d9e2";
const USERNAME = "chris";
const td = new TextDecoder();
const enc = new TextEncoder();
const hexOf = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Every text a failure showed, and every transcript line. */
const shown: string[] = [];

function record(error: unknown): void {
  if (!(error instanceof SaslError)) throw error;
  for (let e: unknown = error; e instanceof Error; e = e.cause) shown.push(e.message, String(e));
}

/** Forms in which a secret value could be shown. */
function forms(secret: Uint8Array | string): string[] {
  if (typeof secret === "string") return [secret, encodeBase64(enc.encode(secret))];
  return [hexOf(secret), encodeBase64(secret), td.decode(secret)].filter((f) => f.length >= 8);
}

Deno.test("secrets: the search finds a secret that is shown", () => {
  shown.length = 0;
  shown.push(`wrong response ${hexOf(new Uint8Array(16).fill(0xab))}`);
  assert.throws(
    () => assertNothingShown(new Map([["a key", new Uint8Array(16).fill(0xab)]]), "self-test"),
    /a key appears/,
  );
});

function assertNothingShown(secrets: Map<string, Uint8Array | string>, context: string): void {
  assert.ok(shown.length > 0, `${context}: nothing was shown, so the test would prove nothing`);
  for (const [what, secret] of secrets) {
    for (const form of forms(secret)) {
      const leak = shown.find((text) => text.includes(form));
      assert.equal(leak, undefined, `${context}: ${what} appears in "${leak}"`);
    }
  }
}

async function step<T>(fn: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    record(error);
    return undefined;
  }
}

// Every mechanism saslkit has: the default registry, SCRAM at its head (-PLUS needs
// channel-binding data, which this in-process exchange does not have).
const registry = defaultRegistry;
for (const name of registry.names.filter((n) => !n.endsWith("-PLUS"))) {
  const descriptor = registry.get(name)!;
  const kind = descriptor.credentialKind;
  Deno.test(`secrets: ${name} (${kind}) shows no secret in errors or transcript`, async () => {
    shown.length = 0;
    const context = { service: "smtp", host: "mail.example.com" };
    // EXTERNAL and ANONYMOUS carry no secret; the password and token must not show up anyway.
    const secrets = new Map<string, Uint8Array | string>([
      ["the password", PASSWORD],
      ["the token", TOKEN],
    ]);
    const rand = prng(20261201);
    for (let run = 0; run < (name.startsWith("SCRAM") ? 40 : 300); run++) {
      // Runs 0 and 1 are clean (right and wrong password); after that one message is mutated.
      const wrong = run === 1;
      const mutateAt = run < 2 ? -1 : Math.floor(rand() * 4);
      const credentials: Credentials = kind === "oauth"
        ? { kind: "oauth", username: USERNAME, token: TOKEN }
        : kind === "external"
        ? { kind: "external" }
        : kind === "anonymous"
        ? { kind: "anonymous", trace: "guest" }
        : { username: USERNAME, password: PASSWORD };
      const client: ClientMechanism = await descriptor.createClient(credentials, context);
      const server: ServerMechanism = descriptor.createServer({
        password: (u) => (u === USERNAME ? (wrong ? "other-password" : PASSWORD) : undefined),
        token: (t) =>
          t === TOKEN && !wrong
            ? { authenticationId: USERNAME }
            : { error: { status: "invalid_token" } },
        externalIdentity: wrong ? undefined : USERNAME,
        anonymous: () => !wrong,
      }, context);
      let index = 0;
      const maybeMutate = (m: Uint8Array) => index++ === mutateAt ? mutate(rand, m, [m]) : m;
      let lastChallenge: Uint8Array | undefined;
      let out = await step(() => client.start());
      for (let round = 0; round < 4; round++) {
        if (out !== undefined) {
          // The transcript: what a session would log of the client's message.
          shown.push(descriptor.redact(out, { lastChallenge }));
          const text = td.decode(out);
          for (const [, value] of text.matchAll(/response=([0-9a-f]{32})/g)) {
            secrets.set("the DIGEST-MD5 response", value);
          }
          if (name === "CRAM-MD5" && / [0-9a-f]{32}$/.test(text)) {
            secrets.set("the CRAM-MD5 digest", text.slice(-32));
          }
          const proof = /(?:^|,)p=([A-Za-z0-9+/]+=*)/.exec(text)?.[1];
          if (name.startsWith("SCRAM") && proof) {
            secrets.set("the SCRAM proof", decodeBase64(proof));
          }
        }
        const serverStep = await step(() =>
          server.next(out === undefined ? undefined : maybeMutate(out))
        );
        if (!serverStep) break;
        if (serverStep.done) {
          await step(() =>
            client.finish(serverStep.challenge && maybeMutate(serverStep.challenge))
          );
          break;
        }
        lastChallenge = maybeMutate(serverStep.challenge ?? new Uint8Array(0));
        out = await step(() => client.next(lastChallenge!));
        if (out === undefined) break;
      }
    }
    // The secrets a mechanism sends were seen, so their absence from the texts means something.
    const expected: Record<string, string> = {
      "DIGEST-MD5": "the DIGEST-MD5 response",
      "CRAM-MD5": "the CRAM-MD5 digest",
    };
    const sent = name.startsWith("SCRAM") ? "the SCRAM proof" : expected[name];
    if (sent) assert.ok(secrets.has(sent), `${name}: ${sent} was never captured`);
    assertNothingShown(secrets, name);
  });
}

Deno.test("secrets: SCRAM-SHA-256 shows no password, proof or derived key in errors", async () => {
  shown.length = 0;
  const stored = await deriveScramCredentials(PASSWORD, { hash: "SHA-256", iterations: 4096 });
  const secrets = new Map<string, Uint8Array | string>([
    ["the password", PASSWORD],
    ["StoredKey", stored.storedKey],
    ["ServerKey", stored.serverKey],
  ]);
  const rand = prng(20261201);
  for (let run = 0; run < 60; run++) {
    const mutateAt = run < 2 ? -1 : Math.floor(rand() * 3);
    const client = new ScramClient({
      hash: "SHA-256",
      username: USERNAME,
      password: run === 1 ? "other-password" : PASSWORD,
    });
    const server = new ScramServer({ hash: "SHA-256", credentials: () => stored });
    let index = 0;
    const maybeMutate = (m: Uint8Array) => index++ === mutateAt ? mutate(rand, m, [m]) : m;
    const first = await step(() => server.next(maybeMutate(client.start())));
    if (!first?.challenge) continue;
    const final = await step(() => client.next(maybeMutate(first.challenge!)));
    if (!final) continue;
    const proof = /p=([A-Za-z0-9+/=]+)/.exec(td.decode(final))?.[1];
    if (proof) secrets.set("the client proof", decodeBase64(proof));
    const last = await step(() => server.next(maybeMutate(final)));
    if (last) await step(() => client.finish(last.challenge && maybeMutate(last.challenge)));
  }
  assert.ok(secrets.has("the client proof"));
  assertNothingShown(secrets, "SCRAM-SHA-256");
});
