// The six SCRAM descriptors: properties, what createClient reads from the context, the two
// server lookups, redaction, and exchanges driven only through descriptors.
import assert from "node:assert/strict";
import { SaslError } from "../error.ts";
import type { ChannelBindings } from "../mechanism.ts";
import { type MechanismContext, MechanismRegistry, type ServerCredentials } from "../registry.ts";
import {
  deriveScramCredentials,
  InMemoryScramCache,
  scramMechanisms,
  scramSha1Mechanism,
  scramSha256Mechanism,
  scramSha256PlusMechanism,
} from "./mod.ts";
import { defaultRegistry } from "../default_registry.ts";

const td = new TextDecoder();
const te = new TextEncoder();
const CREDENTIALS = { username: "user", password: "pencil" };
const BINDINGS: ChannelBindings = {
  "tls-exporter": new Uint8Array(32).fill(1),
  "tls-unique": new Uint8Array(12).fill(2),
  "tls-server-end-point": new Uint8Array(32).fill(3),
};
const context = (extra: Partial<MechanismContext> = {}): MechanismContext => ({
  service: "smtp",
  host: "mail.example.com",
  ...extra,
});
const isCode = (code: string) => (e: unknown) => e instanceof SaslError && e.code === code;

Deno.test("SCRAM descriptors: six names, properties, credential kind", () => {
  assert.deepEqual(scramMechanisms.map((m) => m.name), [
    "SCRAM-SHA-512-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-1",
  ]);
  for (const m of scramMechanisms) {
    assert.equal(m.credentialKind, "password");
    assert.deepEqual(m.properties, {
      sendsCleartextPassword: false,
      verifiesServer: true,
      offersSecurityLayer: false,
      clientFirst: true,
      channelBinding: m.name.endsWith("-PLUS"),
      carriesAuthorizationId: true,
    });
    assert.ok(Object.isFrozen(m));
  }
  // They register together without a clash.
  assert.equal(new MechanismRegistry(scramMechanisms).names.length, 6);
});

async function firstOf(
  descriptor = scramSha256PlusMechanism,
  extra: Partial<MechanismContext> = {},
): Promise<string> {
  const client = await descriptor.createClient(CREDENTIALS, context(extra));
  return td.decode(client.start());
}

Deno.test("SCRAM-PLUS descriptor: binding type tls-exporter, else tls-unique, else end-point", async () => {
  assert.match(await firstOf(undefined, { channelBindings: BINDINGS }), /^p=tls-exporter,,/);
  const { "tls-exporter": _, ...noExporter } = BINDINGS;
  assert.match(await firstOf(undefined, { channelBindings: noExporter }), /^p=tls-unique,,/);
  assert.match(
    await firstOf(undefined, {
      channelBindings: { "tls-server-end-point": BINDINGS["tls-exporter"]! },
    }),
    /^p=tls-server-end-point,,/,
  );
  assert.match(
    await firstOf(undefined, {
      channelBindings: BINDINGS,
      options: { scram: { channelBindingType: "tls-server-end-point" } },
    }),
    /^p=tls-server-end-point,,/,
  );
});

Deno.test("SCRAM-PLUS descriptor: no binding data, or not the forced type, is invalid-argument", async () => {
  await assert.rejects(() => firstOf(), isCode("invalid-argument"));
  await assert.rejects(
    () => firstOf(undefined, { channelBindings: {} }),
    isCode("invalid-argument"),
  );
  await assert.rejects(
    () =>
      firstOf(undefined, {
        channelBindings: { "tls-unique": BINDINGS["tls-unique"]! },
        options: { scram: { channelBindingType: "tls-exporter" } },
      }),
    isCode("invalid-argument"),
  );
  await assert.rejects(
    () =>
      firstOf(undefined, {
        channelBindings: BINDINGS,
        options: { scram: { channelBinding: "disable" } },
      }),
    isCode("invalid-argument"),
  );
});

Deno.test("SCRAM descriptor: the GS2 flag follows the binding data and context.offered", async () => {
  const plain = scramSha256Mechanism;
  assert.match(await firstOf(plain), /^n,,/);
  assert.match(await firstOf(plain, { channelBindings: BINDINGS }), /^y,,/);
  assert.match(
    await firstOf(plain, { channelBindings: BINDINGS, offered: ["SCRAM-SHA-256", "PLAIN"] }),
    /^y,,/,
  );
  // The server offers -PLUS, yet this variant runs (a fallback): it binds nothing.
  assert.match(
    await firstOf(plain, {
      channelBindings: BINDINGS,
      offered: ["scram-sha-256-plus", "SCRAM-SHA-256"],
    }),
    /^n,,/,
  );
  assert.match(
    await firstOf(plain, {
      channelBindings: BINDINGS,
      options: { scram: { channelBinding: "disable" } },
    }),
    /^n,,/,
  );
  await assert.rejects(
    () =>
      firstOf(plain, {
        channelBindings: BINDINGS,
        options: { scram: { channelBinding: "require" } },
      }),
    isCode("invalid-argument"),
  );
});

Deno.test("SCRAM descriptor: credentials of another kind are invalid-argument", async () => {
  await assert.rejects(
    async () => await scramSha256Mechanism.createClient({ kind: "oauth", token: "t" }, context()),
    isCode("invalid-argument"),
  );
  await assert.rejects(
    async () =>
      await scramSha256Mechanism.createClient({ username: "u", password: "\u0007" }, context()),
    isCode("invalid-argument"),
  );
});

async function exchange(
  descriptor: typeof scramSha256Mechanism,
  store: ServerCredentials,
  clientContext: MechanismContext,
  serverContext: MechanismContext = clientContext,
  credentials: Parameters<typeof descriptor.createClient>[0] = CREDENTIALS,
) {
  const server = descriptor.createServer(store, serverContext);
  const client = await descriptor.createClient(credentials, clientContext);
  const first = await server.next(client.start());
  const final = await server.next(await client.next(first.challenge!));
  return { client, server, final };
}

Deno.test("SCRAM descriptors: every variant round trips through descriptors alone", async () => {
  for (const descriptor of scramMechanisms) {
    const { client, server, final } = await exchange(
      descriptor,
      { password: (name) => name === "user" ? "pencil" : undefined },
      context({ channelBindings: BINDINGS, offered: scramMechanisms.map((m) => m.name) }),
    );
    assert.equal(final.done, true, descriptor.name);
    assert.equal(client.finish(final.challenge).mechanism, descriptor.name);
    assert.equal(server.outcome().authenticationId, "user");
  }
});

Deno.test("SCRAM descriptor server: store.scram is preferred, and asked with the hash", async () => {
  const stored = await deriveScramCredentials("pencil", { hash: "SHA-1" });
  const asked: string[] = [];
  const { final } = await exchange(scramSha1Mechanism, {
    scram: (username, hash) => {
      asked.push(`${username}/${hash}`);
      return stored;
    },
    password: () => "wrong",
  }, context());
  assert.equal(final.done, true);
  assert.deepEqual(asked, ["user/SHA-1"]);
});

Deno.test("SCRAM descriptor server: derived on the fly, a known and an unknown user look alike", async () => {
  const store: ServerCredentials = { password: (name) => name === "user" ? "pencil" : undefined };
  const saltOf = async (username: string) => {
    const server = scramSha256Mechanism.createServer(store, context());
    const step = await server.next(te.encode(`n,,n=${username},r=abc`));
    return td.decode(step.challenge).split(",").slice(1);
  };
  const known = await saltOf("user");
  assert.deepEqual(await saltOf("user"), known, "a known user's salt is stable");
  const unknown = await saltOf("nobody");
  assert.deepEqual(await saltOf("nobody"), unknown);
  assert.equal(unknown[0].length, known[0].length);
  assert.equal(unknown[1], "i=4096");
  const { final, server } = await exchange(scramSha256Mechanism, store, context(), context(), {
    username: "nobody",
    password: "pencil",
  });
  assert.equal(td.decode(final.challenge), "e=invalid-proof");
  assert.throws(() => server.outcome(), isCode("authentication-failed"));
  const custom = scramSha256Mechanism.createServer(
    store,
    context({ options: { scram: { iterations: 5000 } } }),
  );
  assert.ok(
    td.decode((await custom.next(te.encode("n,,n=user,r=abc"))).challenge).endsWith(",i=5000"),
  );
});

Deno.test("SCRAM descriptor server: without a lookup it cannot be built", () => {
  assert.throws(() => scramSha256Mechanism.createServer({}, context()), isCode("invalid-argument"));
});

Deno.test("SCRAM descriptor server: store.authorize decides authzid", async () => {
  const store: ServerCredentials = {
    password: () => "pencil",
    authorize: (user, as) => user === "user" && as === "admin",
  };
  const ok = await exchange(scramSha256Mechanism, store, context(), context(), {
    ...CREDENTIALS,
    authorizationId: "admin",
  });
  assert.equal(ok.final.done, true);
  assert.equal(ok.server.outcome().authorizationId, "admin");
  const refused = await exchange(scramSha256Mechanism, store, context(), context(), {
    ...CREDENTIALS,
    authorizationId: "root",
  });
  assert.equal(td.decode(refused.final.challenge), "e=other-error");
});

Deno.test("SCRAM descriptor server: `y` while the server's list has -PLUS is a downgrade", async () => {
  const { client, final } = await exchange(
    scramSha256Mechanism,
    { password: () => "pencil" },
    context({ channelBindings: BINDINGS, offered: ["SCRAM-SHA-256"] }), // what a MITM left
    context({ channelBindings: BINDINGS, offered: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"] }),
  );
  assert.equal(td.decode(final.challenge), "e=server-does-support-channel-binding");
  await assert.rejects(
    async () => await client.next(final.challenge!),
    isCode("channel-binding-downgrade"),
  );
  assert.equal(client.serverError?.code, "channel-binding-downgrade");
});

Deno.test("SCRAM descriptor: -PLUS binding mismatch between the two ends", async () => {
  const { final } = await exchange(
    scramSha256PlusMechanism,
    { password: () => "pencil" },
    context({ channelBindings: { "tls-exporter": new Uint8Array(32).fill(9) } }),
    context({ channelBindings: BINDINGS }),
  );
  assert.equal(td.decode(final.challenge), "e=channel-bindings-dont-match");
});

Deno.test("SCRAM descriptor client: iteration bounds and the cache come from options.scram", async () => {
  const store: ServerCredentials = { password: () => "pencil" };
  const strict = await scramSha256Mechanism.createClient(
    CREDENTIALS,
    context({ options: { scram: { maxIterations: 1000, minIterations: 100 } } }),
  );
  const server = scramSha256Mechanism.createServer(store, context());
  const first = await server.next(strict.start());
  await assert.rejects(
    async () => await strict.next(first.challenge!),
    isCode("iteration-count-rejected"),
  );

  const cache = new InMemoryScramCache();
  const cached = context({ options: { scram: { cache } } });
  await exchange(scramSha256Mechanism, store, cached, context());
  assert.equal(cache.size, 1);
  const again = await exchange(scramSha256Mechanism, store, cached, context());
  assert.equal(again.final.done, true);
  assert.equal(cache.size, 1, "the same salt and count hit the cache");
});

Deno.test("SCRAM redact: client-first kept, proof hidden, c= and r= kept", async () => {
  const client = await scramSha256PlusMechanism.createClient(
    { ...CREDENTIALS, authorizationId: "admin" },
    context({ channelBindings: BINDINGS }),
  );
  const first = client.start()!;
  const redactedFirst = scramSha256PlusMechanism.redact(first, {});
  assert.match(redactedFirst, /^p=tls-exporter,a=admin,n=user,r=[^,]+$/);
  const server = scramSha256PlusMechanism.createServer(
    { password: () => "pencil" },
    context({ channelBindings: BINDINGS }),
  );
  const serverFirst = await server.next(first);
  const final = await client.next(serverFirst.challenge!);
  const text = td.decode(final);
  const redacted = scramSha256PlusMechanism.redact(final, { lastChallenge: serverFirst.challenge });
  assert.equal(redacted, `${text.slice(0, text.lastIndexOf(",p="))},p=***`);
  assert.ok(!redacted.includes(text.split(",p=")[1]));
  assert.match(redacted, /^c=[A-Za-z0-9+/=]+,r=[^,]+,p=\*\*\*$/);
  assert.equal(scramSha256Mechanism.redact(new Uint8Array(0), {}), "(empty)");
  assert.equal(scramSha256Mechanism.redact(te.encode("something else"), {}), "***");
});

Deno.test("defaultRegistry: SCRAM first, each descriptor once, before DIGEST-MD5", () => {
  assert.deepEqual(defaultRegistry.names.slice(0, 7), [
    ...scramMechanisms.map((m) => m.name),
    "DIGEST-MD5",
  ]);
  for (const m of scramMechanisms) assert.equal(defaultRegistry.get(m.name), m);
  assert.equal(new Set(defaultRegistry.names).size, defaultRegistry.names.length);
  const { order } = defaultRegistry.negotiate({
    offered: ["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "CRAM-MD5"],
    credentials: CREDENTIALS,
    secure: true,
    channelBindingTypes: ["tls-server-end-point"],
  });
  assert.deepEqual(order.map((m) => m.name), ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "CRAM-MD5"]);
});

Deno.test("descriptor: non-ASCII credentials load SASLprep's library and are prepared", async () => {
  // U+2168 ROMAN NUMERAL NINE is "IX" after NFKC; the server prepares its stored one alike.
  const context = { service: "smtp", host: "mail.example.com" };
  const server = scramSha256Mechanism.createServer({ password: () => "\u2168" }, context);
  const client = await scramSha256Mechanism.createClient(
    { username: "\u00AAuser", password: "IX" },
    context,
  );
  const first = client.start()!;
  assert.equal(td.decode(first).split(",r=")[0], "n,,n=auser");
  const serverFirst = await server.next(first);
  const done = await server.next(await client.next(serverFirst.challenge!));
  assert.equal(done.done, true);
  assert.equal(client.finish(done.challenge).authenticationId, "auser");
  await assert.rejects(
    async () =>
      await scramSha256Mechanism.createClient({ username: "user", password: "a\u0007b" }, context),
    (e) =>
      e instanceof SaslError && e.code === "invalid-argument" && !e.message.includes("a\u0007b"),
  );
});
