import assert from "node:assert/strict";
import {
  credentialKind,
  defaultRegistry,
  defineMechanism,
  MechanismRegistry,
  type NegotiationInput,
  plainMechanism,
  SaslError,
} from "./mod.ts";

const password = { username: "tim", password: "tanstaaf" };
const skips = (input: NegotiationInput, registry = defaultRegistry) =>
  registry.negotiate(input).skipped.map((s) => `${s.name}:${s.reason}`);
const order = (input: NegotiationInput, registry = defaultRegistry) =>
  registry.negotiate(input).order.map((d) => d.name);

// A -PLUS pair of test descriptors: the registry knows families only by the -PLUS suffix.
const xScram = defineMechanism({
  ...plainMechanism,
  name: "X-SCRAM",
  properties: { ...plainMechanism.properties, sendsCleartextPassword: false },
});
const xScramPlus = defineMechanism({
  ...xScram,
  name: "X-SCRAM-PLUS",
  properties: { ...xScram.properties, channelBinding: true },
});
const bound = new MechanismRegistry([xScramPlus, xScram, plainMechanism]);

Deno.test("negotiate: the caller's order, case-insensitive, duplicates ignored", () => {
  const input = {
    offered: ["plain", "Cram-MD5", "DIGEST-MD5"],
    preferred: ["cram-md5", "DIGEST-md5", "CRAM-MD5", "plain"],
    credentials: password,
    secure: true,
  };
  assert.deepEqual(order(input), ["CRAM-MD5", "DIGEST-MD5", "PLAIN"]);
  assert.deepEqual(skips(input), []);
});

Deno.test("negotiate: the registry's order when the caller gives none", () => {
  const input = {
    offered: ["PLAIN", "CRAM-MD5", "DIGEST-MD5"],
    credentials: password,
    secure: true,
  };
  const names = order(input);
  assert.ok(names.indexOf("DIGEST-MD5") < names.indexOf("CRAM-MD5"));
  assert.ok(names.indexOf("CRAM-MD5") < names.indexOf("PLAIN"));
});

Deno.test("negotiate: every reason to leave a mechanism out", () => {
  assert.deepEqual(
    skips({
      offered: ["PLAIN", "LOGIN", "CRAM-MD5"],
      preferred: ["GSSAPI", "DIGEST-MD5", "PLAIN", "CRAM-MD5"],
      credentials: { ...password, authorizationId: "admin" },
      secure: false,
    }),
    ["GSSAPI:unknown", "DIGEST-MD5:not-offered", "PLAIN:needs-tls", "CRAM-MD5:no-authorization-id"],
  );
  assert.deepEqual(
    skips({
      offered: ["PLAIN"],
      preferred: ["PLAIN"],
      credentials: { kind: "anonymous" },
      secure: true,
    }),
    ["PLAIN:no-credential"],
  );
  // allowCleartext lets PLAIN through an unencrypted connection.
  assert.deepEqual(
    order({
      offered: ["PLAIN"],
      preferred: ["PLAIN"],
      credentials: password,
      secure: false,
      allowCleartext: true,
    }),
    ["PLAIN"],
  );
});

Deno.test("negotiate: -PLUS goes first when TLS provides binding data (prefer)", () => {
  const base = { offered: ["X-SCRAM", "X-SCRAM-PLUS"], credentials: password };
  assert.deepEqual(
    order(
      { ...base, preferred: ["X-SCRAM"], secure: true, channelBindingTypes: ["tls-exporter"] },
      bound,
    ),
    ["X-SCRAM-PLUS", "X-SCRAM"],
  );
  // No binding data, or no TLS: -PLUS is left out, and says why when the caller named it.
  assert.deepEqual(order({ ...base, preferred: ["X-SCRAM"], secure: true }, bound), ["X-SCRAM"]);
  assert.deepEqual(
    skips({
      ...base,
      preferred: ["X-SCRAM-PLUS", "X-SCRAM"],
      secure: false,
      channelBindingTypes: ["tls-unique"],
    }, bound),
    ["X-SCRAM-PLUS:needs-channel-binding"],
  );
  // Not offered by the server: not inserted.
  assert.deepEqual(
    order({
      offered: ["X-SCRAM"],
      credentials: password,
      preferred: ["X-SCRAM"],
      secure: true,
      channelBindingTypes: ["tls-unique"],
    }, bound),
    ["X-SCRAM"],
  );
});

Deno.test("negotiate: channel binding require and disable", () => {
  const base = {
    offered: ["X-SCRAM", "X-SCRAM-PLUS", "PLAIN"],
    preferred: ["X-SCRAM-PLUS", "X-SCRAM", "PLAIN"],
    credentials: password,
    secure: true,
    channelBindingTypes: ["tls-exporter" as const],
  };
  assert.deepEqual(order({ ...base, channelBinding: "require" }, bound), ["X-SCRAM-PLUS", "PLAIN"]);
  assert.deepEqual(skips({ ...base, channelBinding: "require" }, bound), [
    "X-SCRAM:channel-binding-required",
  ]);
  assert.deepEqual(order({ ...base, channelBinding: "disable" }, bound), ["X-SCRAM", "PLAIN"]);
  assert.deepEqual(skips({ ...base, channelBinding: "disable" }, bound), [
    "X-SCRAM-PLUS:channel-binding-disabled",
  ]);
});

Deno.test("negotiate from plain JavaScript: strings where arrays belong are typed errors", () => {
  const wrong = [
    { offered: "PLAIN LOGIN", credentials: password, secure: true },
    { offered: ["PLAIN"], preferred: "PLAIN", credentials: password, secure: true },
    { offered: ["PLAIN", 7], credentials: password, secure: true },
    { offered: ["PLAIN"], credentials: { username: "tim" }, secure: true },
    { offered: ["PLAIN"], credentials: "tim:tanstaaf", secure: true },
    { offered: ["PLAIN"], credentials: { kind: "kerberos" }, secure: true },
  ];
  for (const input of wrong) {
    assert.throws(
      () => defaultRegistry.negotiate(input as unknown as NegotiationInput),
      (e) =>
        e instanceof SaslError && e.code === "invalid-argument" && !e.message.includes("tanstaaf"),
      JSON.stringify(input),
    );
  }
});

Deno.test("credentialKind checks each shape and never quotes a value", () => {
  assert.equal(credentialKind({ kind: "external" }), "external");
  assert.equal(credentialKind({ kind: "anonymous", trace: "a@example.com" }), "anonymous");
  assert.equal(credentialKind({ kind: "oauth", username: "u", token: "t" }), "oauth");
  for (
    const bad of [null, 42, { kind: "oauth" }, { kind: "oauth", token: "" }, {
      username: "u",
      password: 5,
    }]
  ) {
    assert.throws(() => credentialKind(bad), { name: "SaslError", code: "invalid-argument" });
  }
  assert.throws(
    () => credentialKind({ username: "u", password: "hunter2", authorizationId: 9 }),
    (e) => e instanceof SaslError && !e.message.includes("hunter2"),
  );
});

Deno.test("a registry refuses a bad or repeated name; descriptors are frozen", () => {
  assert.throws(() => new MechanismRegistry([plainMechanism, plainMechanism]), {
    code: "invalid-argument",
  });
  assert.throws(() => defineMechanism({ ...plainMechanism, name: "plain" }), {
    code: "invalid-argument",
  });
  assert.throws(() => defineMechanism({ ...plainMechanism, name: "A".repeat(21) }), {
    code: "invalid-argument",
  });
  assert.ok(Object.isFrozen(plainMechanism));
  assert.equal(defaultRegistry.get(42 as unknown as string), undefined);
});

Deno.test("a server side needs its lookup: a typed error, not a crash", () => {
  const context = { service: "smtp", host: "mail.example.com" };
  for (const name of ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"]) {
    assert.throws(() => defaultRegistry.get(name)!.createServer({}, context), {
      code: "invalid-argument",
    });
  }
});

Deno.test("descriptors give clients and servers that agree; no redacted message holds a secret", async () => {
  const users = new Map([["jürgen", "pässwörd"]]);
  const context = { service: "smtp", host: "mail.example.com" };
  for (const name of ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"]) {
    const descriptor = defaultRegistry.get(name)!;
    const client = await descriptor.createClient(
      { username: "jürgen", password: "pässwörd" },
      context,
    );
    const server = descriptor.createServer({ password: (u) => users.get(u) }, context);
    let message = client.start();
    let lastChallenge: Uint8Array | undefined;
    const shown: string[] = [];
    for (let round = 0; round < 5; round++) {
      if (message) shown.push(descriptor.redact(message, { lastChallenge }));
      const step = await server.next(message);
      if (step.done) {
        if (step.challenge) await client.next(step.challenge);
        break;
      }
      lastChallenge = step.challenge!;
      message = await client.next(lastChallenge);
    }
    for (const line of shown) {
      assert.ok(!line.includes("pässwörd"), `${name} shows the password: ${line}`);
      assert.doesNotMatch(line, /[0-9a-f]{32}/, `${name} shows a digest: ${line}`);
    }
    assert.ok(shown.some((line) => line.includes("***")), name);
    assert.equal(server.outcome().authenticationId, "jürgen", name);
    assert.equal(client.finish().mechanism, name);
  }
});

Deno.test("DIGEST-MD5 through the registry: ciphers are names, every one by default", async () => {
  const descriptor = defaultRegistry.get("DIGEST-MD5")!;
  const run = async (client: object, server: object) => {
    const c = await descriptor.createClient(password, {
      service: "smtp",
      host: "h",
      options: { digestMd5: client },
    });
    const s = descriptor.createServer({ password: () => password.password }, {
      service: "smtp",
      host: "h",
      options: { digestMd5: server },
    });
    c.start();
    const final = await s.next(await c.next((await s.next(undefined)).challenge!));
    await c.next(final.challenge!);
    return [c.finish().cipher, s.outcome().cipher];
  };
  const conf = { qop: ["auth-conf"] };
  assert.deepEqual(await run(conf, conf), ["rc4", "rc4"]);
  assert.deepEqual(await run({ ...conf, ciphers: ["3DES", "rc4"] }, conf), ["3des", "3des"]);
  assert.deepEqual(await run(conf, { ...conf, ciphers: ["rc4-40"] }), ["rc4-40", "rc4-40"]);
  const context = (digestMd5: object) => ({ service: "smtp", host: "h", options: { digestMd5 } });
  for (const bad of [{ ciphers: ["aes"] }, { ...conf, ciphers: [] }]) {
    await assert.rejects(
      async () => await descriptor.createClient(password, context(bad)),
      (e: SaslError) => e.code === "invalid-argument",
    );
    assert.throws(
      () => descriptor.createServer({ password: () => "x" }, context(bad)),
      (e: SaslError) => e.code === "invalid-argument",
    );
  }
});
