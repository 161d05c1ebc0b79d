import assert from "node:assert/strict";
import { defaultRegistry } from "./default_registry.ts";
import {
  ExternalClient,
  type ExternalClientOptions,
  externalMechanism,
  ExternalServer,
  type ExternalServerOptions,
} from "./external.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function assertSaslError(fn: () => unknown, code: SaslErrorCode): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

const CERT = "CN=alice,OU=Mail,O=Example";

Deno.test("EXTERNAL client: the authzid is the initial response, possibly empty", () => {
  const self = new ExternalClient();
  assert.equal(self.name, "EXTERNAL");
  assert.deepEqual(self.start(), new Uint8Array(0));
  assert.deepEqual(self.finish(), { mechanism: "EXTERNAL", qop: "auth" });

  const empty = new ExternalClient({ authorizationId: "" });
  assert.deepEqual(empty.start(), new Uint8Array(0));

  const other = new ExternalClient({ authorizationId: "u:bob" });
  assert.equal(decode(other.start()), "u:bob");
  assert.deepEqual(other.finish(), {
    mechanism: "EXTERNAL",
    authorizationId: "u:bob",
    qop: "auth",
  });
});

Deno.test("EXTERNAL client: properties", () => {
  assert.deepEqual(new ExternalClient().properties, {
    sendsCleartextPassword: false,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: true,
    channelBinding: false,
    carriesAuthorizationId: true,
  });
});

Deno.test("EXTERNAL client: invalid options", () => {
  const cases: ExternalClientOptions[] = [
    { authorizationId: "a\0b" },
    { authorizationId: "\ud800" },
    { authorizationId: "a".repeat(1025) },
    { authorizationId: 7 as unknown as string },
  ];
  for (const options of cases) {
    assertSaslError(() => new ExternalClient(options), "invalid-argument");
  }
  new ExternalClient({ authorizationId: "é".repeat(512) });
});

Deno.test("EXTERNAL client: an empty challenge gets the message once; state machine", () => {
  const fresh = () => new ExternalClient({ authorizationId: "bob" });
  const client = fresh();
  const initial = client.start();
  assert.deepEqual(client.next(new Uint8Array(0)), initial);
  assertSaslError(() => client.next(new Uint8Array(0)), "invalid-state");
  assert.equal(client.finish().authorizationId, "bob");
  assertSaslError(() => client.finish(), "invalid-state");

  assertSaslError(() => fresh().finish(), "invalid-state");
  assertSaslError(() => fresh().next(new Uint8Array(0)), "invalid-state");
  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");
  const challenged = fresh();
  challenged.start();
  assertSaslError(() => challenged.next(text.encode("x")), "malformed-challenge");
  assertSaslError(() => challenged.finish(), "invalid-state");
  const data = fresh();
  data.start();
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");
});

Deno.test("EXTERNAL server: an empty authzid acts as the external identity", () => {
  const server = new ExternalServer({ externalIdentity: CERT });
  assert.equal(server.name, "EXTERNAL");
  assert.deepEqual(server.next(new Uint8Array(0)), { done: true });
  assert.deepEqual(server.outcome(), {
    mechanism: "EXTERNAL",
    authenticationId: CERT,
    qop: "auth",
  });
});

Deno.test("EXTERNAL server: authorization", () => {
  const own = new ExternalServer({ externalIdentity: CERT });
  own.next(text.encode(CERT));
  assert.equal(own.outcome().authorizationId, CERT);

  assertSaslError(
    () => new ExternalServer({ externalIdentity: CERT }).next(text.encode("u:bob")),
    "authorization-failed",
  );
  const asked: string[][] = [];
  const options: ExternalServerOptions = {
    externalIdentity: CERT,
    authorize: (identity, authzid) => (asked.push([identity, authzid]), authzid === "u:bob"),
  };
  const allowed = new ExternalServer(options);
  allowed.next(text.encode("u:bob"));
  assert.deepEqual(allowed.outcome(), {
    mechanism: "EXTERNAL",
    authenticationId: CERT,
    authorizationId: "u:bob",
    qop: "auth",
  });
  assertSaslError(
    () => new ExternalServer(options).next(text.encode("u:eve")),
    "authorization-failed",
  );
  assert.deepEqual(asked, [[CERT, "u:bob"], [CERT, "u:eve"]]);
  // An empty authzid never asks.
  new ExternalServer(options).next(new Uint8Array(0));
  assert.equal(asked.length, 2);
});

Deno.test("EXTERNAL server: no external identity fails authentication", () => {
  for (const options of [undefined, {}, { externalIdentity: "" }]) {
    let asked = false;
    const server = new ExternalServer({ ...options, authorize: () => (asked = true) });
    assertSaslError(() => server.next(text.encode("u:bob")), "authentication-failed");
    assertSaslError(() => server.outcome(), "invalid-state");
    assert.equal(asked, false);
    assertSaslError(
      () => new ExternalServer(options).next(new Uint8Array(0)),
      "authentication-failed",
    );
  }
});

Deno.test("EXTERNAL server: without an initial response it sends an empty challenge", () => {
  const server = new ExternalServer({ externalIdentity: CERT });
  assert.deepEqual(server.next(undefined), { challenge: new Uint8Array(0), done: false });
  assertSaslError(() => server.next(undefined), "invalid-state");
  assert.equal(server.next(new Uint8Array(0)).done, true);
  assertSaslError(() => server.next(new Uint8Array(0)), "invalid-state");
  assertSaslError(() => new ExternalServer().outcome(), "invalid-state");
});

/** Malformed EXTERNAL messages and the exact code each must produce. */
export const EXTERNAL_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  { name: "NUL", input: new Uint8Array([0]), code: "malformed-response" },
  { name: "NUL inside", input: text.encode("u:bob\0"), code: "malformed-response" },
  { name: "invalid UTF-8", input: new Uint8Array([0x75, 0xc3]), code: "malformed-response" },
  { name: "overlong UTF-8", input: new Uint8Array([0xc0, 0xaf]), code: "malformed-response" },
  {
    name: "UTF-8 surrogate",
    input: new Uint8Array([0xed, 0xb0, 0x80]),
    code: "malformed-response",
  },
  { name: "1025 octets", input: text.encode("a".repeat(1025)), code: "message-too-long" },
];

Deno.test("EXTERNAL server: malformed messages", async (t) => {
  for (const { name, input, code } of EXTERNAL_MALFORMED) {
    await t.step(name, () => {
      const server = new ExternalServer({ externalIdentity: CERT, authorize: () => true });
      assertSaslError(() => server.next(input), code);
      assertSaslError(() => server.outcome(), "invalid-state");
      assertSaslError(() => server.next(new Uint8Array(0)), "invalid-state");
    });
  }
  const limit = new ExternalServer({ externalIdentity: CERT, authorize: () => true });
  assert.equal(limit.next(text.encode("a".repeat(1024))).done, true);
});

Deno.test("EXTERNAL: client and server round trips", () => {
  for (
    const authorizationId of [undefined, "", "u:bob", "dn:cn=Jürgen Müller,dc=例え,dc=jp", "🔑"]
  ) {
    const server = new ExternalServer({ externalIdentity: CERT, authorize: () => true });
    const client = new ExternalClient({ authorizationId });
    client.start();
    const challenge = server.next(undefined).challenge!;
    assert.equal(server.next(client.next(challenge)).done, true);
    const outcome = client.finish();
    assert.equal(server.outcome().authenticationId, CERT);
    assert.equal(server.outcome().authorizationId, outcome.authorizationId);
    assert.equal(outcome.authorizationId, authorizationId || undefined);
  }
});

Deno.test("EXTERNAL descriptor", async () => {
  const context = { service: "ldap", host: "ldap.example.com" };
  assert.equal(externalMechanism.name, "EXTERNAL");
  assert.equal(externalMechanism.credentialKind, "external");
  assert.deepEqual(externalMechanism.properties, new ExternalClient().properties);
  assert.equal(defaultRegistry.get("external"), externalMechanism);
  // No secret: allowed without TLS.
  const { order } = defaultRegistry.negotiate({
    offered: ["PLAIN", "EXTERNAL"],
    credentials: { kind: "external", authorizationId: "u:bob" },
    secure: false,
  });
  assert.deepEqual(order.map((m) => m.name), ["EXTERNAL"]);

  const client = await externalMechanism.createClient(
    { kind: "external", authorizationId: "u:bob" },
    context,
  );
  assert.equal(decode(client.start()!), "u:bob");
  await assert.rejects(
    async () => await externalMechanism.createClient({ username: "u", password: "p" }, context),
    (error: unknown) => error instanceof SaslError && error.code === "invalid-argument",
  );

  const server = externalMechanism.createServer({
    externalIdentity: CERT,
    authorize: (id, as) => id === CERT && as === "u:bob",
  }, context);
  assert.equal((await server.next(text.encode("u:bob"))).done, true);
  assert.equal(server.outcome().authorizationId, "u:bob");
  const nobody = externalMechanism.createServer({}, context);
  assertSaslError(() => nobody.next(new Uint8Array(0)), "authentication-failed");

  assert.equal(externalMechanism.redact(text.encode("u:bob"), {}), "u:bob");
  assert.equal(externalMechanism.redact(new Uint8Array(0), {}), "(empty)");
});
