import assert from "node:assert/strict";
import { defaultRegistry } from "./default_registry.ts";
import {
  OAuthBearerClient,
  type OAuthBearerClientOptions,
  oauthBearerMechanism,
  OAuthBearerServer,
  type OAuthBearerServerOptions,
  type TokenRequest,
} from "./oauthbearer.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
/** `prefix`, `fill` repeated, `suffix`: exactly `octets` long. */
const sized = (octets: number, prefix: string, suffix: string, fill = "t") =>
  text.encode(prefix + fill.repeat(octets - text.encode(prefix + suffix).length) + suffix);
/** `count` pairs with distinct keys `a=y^A`, `b=y^A`, … `aa=y^A`. */
const manyPairs = (count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      (i >= 26 ? String.fromCharCode(97 + Math.floor(i / 26) - 1) : "") +
      String.fromCharCode(97 + (i % 26)) + "=y\x01",
  ).join("");
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function assertSaslError(fn: () => unknown, code: SaslErrorCode, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code);
    if (secret) assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

/** For server steps that may throw synchronously or reject. */
async function assertRejects(
  fn: () => unknown,
  code: SaslErrorCode,
  secret?: string,
): Promise<SaslError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SaslError, `expected SaslError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  if (secret) assert.ok(!caught.message.includes(secret), caught.message);
  return caught;
}

// RFC 7628 §4.1–4.4.
const RFC_TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
const RFC_IMAP_OPTIONS: OAuthBearerClientOptions = {
  token: RFC_TOKEN,
  authorizationId: "user@example.com",
  host: "server.example.com",
  port: 143,
};
// §4.1 and §4.3, the IMAP initial response (the RFC wraps it over four lines).
const RFC_IMAP_INITIAL = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhv" +
  "c3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI" +
  "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQ" +
  "EB";
// §4.3, the server's error challenge.
const RFC_IMAP_ERROR = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3" +
  "Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbG" +
  "UuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";
// §4.2 and §4.4, the same over SMTP submission.
const RFC_SMTP_INITIAL = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAX" +
  "BvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
const RFC_SMTP_ERROR = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciBtYWMiLCJz" +
  "Y29wZSI6Imh0dHBzOi8vbWFpbC5leGFtcGxlLmNvbS8ifQ==";

const rfcServerOptions: OAuthBearerServerOptions = {
  validate: (token) =>
    token === RFC_TOKEN ? { authenticationId: "user@example.com" } : {
      error: {
        status: "invalid_token",
        scope: "example_scope",
        openidConfiguration: "https://example.com/.well-known/openid-configuration",
      },
    },
};

Deno.test("OAUTHBEARER client: RFC 7628 §4.1 successful exchange, byte for byte", () => {
  const client = new OAuthBearerClient(RFC_IMAP_OPTIONS);
  assert.equal(client.name, "OAUTHBEARER");
  const initial = client.start();
  assert.equal(
    decode(initial),
    "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01" +
      "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
  );
  assert.equal(encodeBase64(initial), RFC_IMAP_INITIAL);
  assert.deepEqual(client.finish(), {
    mechanism: "OAUTHBEARER",
    authorizationId: "user@example.com",
    qop: "auth",
  });
  assert.equal(client.serverError, undefined);
});

Deno.test("OAUTHBEARER client: RFC 7628 §4.3 failed exchange, byte for byte", () => {
  const client = new OAuthBearerClient(RFC_IMAP_OPTIONS);
  assert.equal(encodeBase64(client.start()), RFC_IMAP_INITIAL);
  const error = decodeBase64(RFC_IMAP_ERROR);
  assert.equal(
    decode(error),
    '{"status":"invalid_token","scope":"example_scope",' +
      '"openid-configuration":"https://example.com/.well-known/openid-configuration"}',
  );
  const answer = client.next(error);
  assert.deepEqual(answer, new Uint8Array([0x01]));
  assert.equal(encodeBase64(answer), "AQ==");
  assert.ok(client.serverError instanceof SaslError);
  assert.equal(client.serverError.code, "invalid-token");
  assert.match(client.serverError.message, /"invalid_token"/);
  assert.match(client.serverError.message, /"example_scope"/);
  assert.ok(!client.serverError.message.includes(RFC_TOKEN));
  assert.deepEqual(client.serverErrorDetails, {
    status: "invalid_token",
    scope: "example_scope",
    openidConfiguration: "https://example.com/.well-known/openid-configuration",
  });
  // Only the failure reply may follow.
  assertSaslError(() => client.next(error), "invalid-state");
  assertSaslError(() => client.finish(), "malformed-challenge");
});

Deno.test("OAUTHBEARER client: RFC 7628 §4.2 and §4.4 over SMTP", () => {
  const options = { ...RFC_IMAP_OPTIONS, port: 587 };
  assert.equal(encodeBase64(new OAuthBearerClient(options).start()), RFC_SMTP_INITIAL);
  const client = new OAuthBearerClient(options);
  client.start();
  assert.deepEqual(client.next(decodeBase64(RFC_SMTP_ERROR)), new Uint8Array([1]));
  assert.equal(client.serverError?.code, "invalid-token");
  assert.deepEqual(client.serverErrorDetails, {
    status: "invalid_token",
    schemes: "bearer mac",
    scope: "https://mail.example.com/",
  });
});

Deno.test("OAUTHBEARER client: other statuses are oauth-error; 401 is invalid-token", () => {
  const cases: [string, SaslErrorCode][] = [
    ['{"status":"insufficient_scope","scope":"mail"}', "oauth-error"],
    ['{"status":"invalid_request"}', "oauth-error"],
    ['{"status":"401"}', "invalid-token"],
    ['{"status":"403"}', "oauth-error"],
    [' \n{ "status" : "invalid_token" , "extra": [1, {"x": null}] }\n', "invalid-token"],
  ];
  for (const [json, code] of cases) {
    const client = new OAuthBearerClient({ token: "t0ken" });
    client.start();
    assert.deepEqual(client.next(text.encode(json)), new Uint8Array([1]));
    assert.equal(client.serverError?.code, code, json);
  }
  const client = new OAuthBearerClient({ token: "t0ken" });
  client.start();
  client.next(text.encode('{"status":"insufficient_scope","scope":"a\\r\\nforged: line"}'));
  // Control characters of the server's text stay escaped in the message.
  assert.ok(!/[\r\n]/.test(client.serverError!.message), client.serverError!.message);
});

Deno.test("OAUTHBEARER client: header and pairs", () => {
  const cases: [OAuthBearerClientOptions, string][] = [
    [{ token: "abc" }, "n,,\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", authorizationId: "" }, "n,,\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", authorizationId: "a,b=c" }, "n,a=a=2Cb=3Dc,\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", authorizationId: "=2C" }, "n,a==3D2C,\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", port: 0 }, "n,,\x01port=0\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", host: "[::1]" }, "n,,\x01host=[::1]\x01auth=Bearer abc\x01\x01"],
    [{ token: "abc", authorizationId: "ü@例え.jp" }, "n,a=ü@例え.jp,\x01auth=Bearer abc\x01\x01"],
  ];
  for (const [options, expected] of cases) {
    assert.equal(decode(new OAuthBearerClient(options).start()), expected);
  }
});

Deno.test("OAUTHBEARER client: properties", () => {
  assert.deepEqual(new OAuthBearerClient({ token: "x" }).properties, {
    sendsCleartextPassword: true,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: true,
    channelBinding: false,
    carriesAuthorizationId: true,
  });
});

Deno.test("OAUTHBEARER client: invalid options", async (t) => {
  const secret = "s3cr3tT0ken";
  const cases: { name: string; options: OAuthBearerClientOptions }[] = [
    { name: "empty token", options: { token: "" } },
    { name: "token with a space", options: { token: `${secret} x` } },
    { name: "token with %x01", options: { token: `${secret}\x01host=evil` } },
    { name: "token with CR LF", options: { token: `${secret}\r\n` } },
    { name: "non-ASCII token", options: { token: `${secret}é` } },
    { name: "token not a string", options: { token: 42 as unknown as string } },
    { name: "token too long", options: { token: "t".repeat(65536) } },
    { name: "authzid with NUL", options: { token: secret, authorizationId: "a\0b" } },
    { name: "authzid with %x01", options: { token: secret, authorizationId: "a\x01b" } },
    { name: "authzid with LF", options: { token: secret, authorizationId: "a\nb" } },
    { name: "authzid lone surrogate", options: { token: secret, authorizationId: "a\ud800" } },
    { name: "authzid 1025 octets", options: { token: secret, authorizationId: "a".repeat(1025) } },
    { name: "empty host", options: { token: secret, host: "" } },
    { name: "host with a space", options: { token: secret, host: "a b" } },
    { name: "host with %x01", options: { token: secret, host: "a\x01port=1" } },
    { name: "non-ASCII host", options: { token: secret, host: "bücher.example" } },
    { name: "256-octet host", options: { token: secret, host: "h".repeat(256) } },
    { name: "port -1", options: { token: secret, port: -1 } },
    { name: "port 65536", options: { token: secret, port: 65536 } },
    { name: "port 1.5", options: { token: secret, port: 1.5 } },
    { name: "port NaN", options: { token: secret, port: NaN } },
  ];
  for (const { name, options } of cases) {
    await t.step(name, () => {
      assertSaslError(() => new OAuthBearerClient(options), "invalid-argument", secret);
    });
  }
  // The limits are inclusive.
  new OAuthBearerClient({ token: secret, authorizationId: "a".repeat(1024), port: 65535 });
  new OAuthBearerClient({ token: secret, host: "h".repeat(255) });
});

Deno.test("OAUTHBEARER client: an empty challenge gets the response once", () => {
  const client = new OAuthBearerClient({ token: "abc" });
  const initial = client.start();
  assert.deepEqual(client.next(new Uint8Array(0)), initial);
  assertSaslError(() => client.next(new Uint8Array(0)), "invalid-state");
  assert.equal(client.finish().qop, "auth");
});

Deno.test("OAUTHBEARER client: state machine", () => {
  const fresh = () => new OAuthBearerClient({ token: "abc" });
  assertSaslError(() => fresh().finish(), "invalid-state");
  assertSaslError(() => fresh().next(new Uint8Array(0)), "invalid-state");
  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");
  const done = fresh();
  done.start();
  done.finish();
  assertSaslError(() => done.finish(), "invalid-state");
  assertSaslError(() => done.next(text.encode('{"status":"x"}')), "invalid-state");
  const data = fresh();
  data.start();
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");
  assertSaslError(() => data.finish(), "invalid-state");
  const emptyData = fresh();
  emptyData.start();
  assert.equal(emptyData.finish(new Uint8Array(0)).qop, "auth");
  // The returned message is a copy that finish() does not wipe.
  const copy = fresh();
  const initial = copy.start();
  copy.finish();
  assert.equal(decode(initial), "n,,\x01auth=Bearer abc\x01\x01");
});

/** Server challenges the client must refuse, and the exact code of each. */
const CLIENT_MALFORMED: readonly { name: string; input: Uint8Array; code: SaslErrorCode }[] = [
  { name: "not JSON", input: text.encode("+ go ahead"), code: "malformed-challenge" },
  {
    name: "truncated JSON",
    input: text.encode('{"status":"invalid_token"'),
    code: "malformed-challenge",
  },
  {
    name: "JSON array",
    input: text.encode('[{"status":"invalid_token"}]'),
    code: "malformed-challenge",
  },
  { name: "JSON null", input: text.encode("null"), code: "malformed-challenge" },
  { name: "JSON string", input: text.encode('"invalid_token"'), code: "malformed-challenge" },
  { name: "JSON number", input: text.encode("401"), code: "malformed-challenge" },
  { name: "no status", input: text.encode('{"scope":"x"}'), code: "malformed-challenge" },
  { name: "empty status", input: text.encode('{"status":""}'), code: "malformed-challenge" },
  { name: "numeric status", input: text.encode('{"status":401}'), code: "malformed-challenge" },
  { name: "null status", input: text.encode('{"status":null}'), code: "malformed-challenge" },
  {
    name: "status inherited, not own",
    input: text.encode('{"__proto__":{"status":"invalid_token"}}'),
    code: "malformed-challenge",
  },
  {
    name: "scope not a string",
    input: text.encode('{"status":"invalid_token","scope":["a"]}'),
    code: "malformed-challenge",
  },
  {
    name: "openid-configuration not a string",
    input: text.encode('{"status":"invalid_token","openid-configuration":1}'),
    code: "malformed-challenge",
  },
  {
    name: "schemes not a string",
    input: text.encode('{"status":"invalid_token","schemes":true}'),
    code: "malformed-challenge",
  },
  {
    name: "byte order mark",
    input: text.encode('\ufeff{"status":"x"}'),
    code: "malformed-challenge",
  },
  {
    name: "invalid UTF-8",
    input: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    code: "malformed-challenge",
  },
  { name: "%x01", input: new Uint8Array([1]), code: "malformed-challenge" },
  {
    name: "4097 octets",
    input: sized(4097, '{"status":"invalid_token","scope":"', '"}', "s"),
    code: "message-too-long",
  },
  { name: "deep nesting", input: text.encode("[".repeat(4000)), code: "malformed-challenge" },
];

Deno.test("OAUTHBEARER client: malformed challenges", async (t) => {
  for (const { name, input, code } of CLIENT_MALFORMED) {
    await t.step(name, () => {
      const client = new OAuthBearerClient({ token: "s3cr3tT0ken" });
      client.start();
      assertSaslError(() => client.next(input), code, "s3cr3tT0ken");
      assert.equal(client.serverError, undefined);
      assertSaslError(() => client.next(input), "invalid-state");
      assertSaslError(() => client.finish(), "invalid-state");
    });
  }
  // 4096 octets is still accepted.
  const limit = sized(4096, '{"status":"invalid_token","scope":"', '"}', "s");
  assert.equal(limit.length, 4096);
  const client = new OAuthBearerClient({ token: "abc" });
  client.start();
  assert.deepEqual(client.next(limit), new Uint8Array([1]));
});

Deno.test("OAUTHBEARER server: RFC 7628 §4.1 successful exchange", async () => {
  const seen: [string, TokenRequest][] = [];
  const server = new OAuthBearerServer({
    validate: (token, request) => {
      seen.push([token, request]);
      return { authenticationId: "user@example.com" };
    },
  });
  assert.equal(server.name, "OAUTHBEARER");
  const step = server.next(decodeBase64(RFC_IMAP_INITIAL));
  assert.ok(!(step instanceof Promise), "a synchronous validator gives a synchronous step");
  assert.deepEqual(step, { done: true });
  assert.deepEqual(seen, [[RFC_TOKEN, {
    mechanism: "OAUTHBEARER",
    authorizationId: "user@example.com",
    host: "server.example.com",
    port: 143,
  }]]);
  assert.deepEqual(server.outcome(), {
    mechanism: "OAUTHBEARER",
    authenticationId: "user@example.com",
    authorizationId: "user@example.com",
    qop: "auth",
  });
  await Promise.resolve();
});

Deno.test("OAUTHBEARER server: RFC 7628 §4.3 failed exchange, byte for byte", async () => {
  const server = new OAuthBearerServer(rfcServerOptions);
  const message = new OAuthBearerClient({ ...RFC_IMAP_OPTIONS, token: "expired" }).start();
  const step = await server.next(message);
  assert.equal(step.done, false);
  assert.equal(encodeBase64(step.challenge!), RFC_IMAP_ERROR);
  assertSaslError(() => server.outcome(), "invalid-state");
  const error = await assertRejects(() => server.next(decodeBase64("AQ==")), "invalid-token");
  assert.match(error.message, /"example_scope"/);
  assertSaslError(() => server.outcome(), "invalid-state");
  await assertRejects(() => server.next(new Uint8Array([1])), "invalid-state");
});

Deno.test("OAUTHBEARER server: RFC 7628 §4.4 error challenge, byte for byte", async () => {
  const server = new OAuthBearerServer({
    validate: () => ({
      error: { status: "invalid_token", schemes: "bearer mac", scope: "https://mail.example.com/" },
    }),
  });
  const step = await server.next(decodeBase64(RFC_SMTP_INITIAL));
  assert.equal(encodeBase64(step.challenge!), RFC_SMTP_ERROR);
});

Deno.test("OAUTHBEARER server: other errors and a bad acknowledgement", async () => {
  const scoped = new OAuthBearerServer({
    validate: () => ({ error: { status: "insufficient_scope", scope: "mail" } }),
  });
  await scoped.next(text.encode("n,,\x01auth=Bearer abc\x01\x01"));
  await assertRejects(() => scoped.next(new Uint8Array([1])), "oauth-error");

  for (const ack of [new Uint8Array(0), new Uint8Array([1, 1]), text.encode("*")]) {
    const server = new OAuthBearerServer(rfcServerOptions);
    await server.next(text.encode("n,,\x01auth=Bearer abc\x01\x01"));
    await assertRejects(() => server.next(ack), "malformed-response");
    await assertRejects(() => server.next(new Uint8Array([1])), "invalid-state");
  }
});

Deno.test("OAUTHBEARER server: without an initial response it sends an empty challenge", async () => {
  const server = new OAuthBearerServer(rfcServerOptions);
  assert.deepEqual(server.next(undefined), { challenge: new Uint8Array(0), done: false });
  await assertRejects(() => server.next(undefined), "invalid-state");
  assert.equal((await server.next(decodeBase64(RFC_IMAP_INITIAL))).done, true);
  await assertRejects(() => server.next(decodeBase64(RFC_IMAP_INITIAL)), "invalid-state");
});

Deno.test("OAUTHBEARER server: an asynchronous validator", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = new OAuthBearerServer({
    validate: async (token) => {
      await gate;
      return token === "good"
        ? { authenticationId: "alice" }
        : { error: { status: "invalid_token" } };
    },
  });
  const pending = server.next(text.encode("n,,\x01auth=Bearer good\x01\x01"));
  assert.ok(pending instanceof Promise);
  // While the token is being checked, nothing else may happen.
  await assertRejects(
    () => server.next(text.encode("n,,\x01auth=Bearer good\x01\x01")),
    "invalid-state",
  );
  assertSaslError(() => server.outcome(), "invalid-state");
  release();
  assert.deepEqual(await pending, { done: true });
  assert.equal(server.outcome().authenticationId, "alice");
});

Deno.test("OAUTHBEARER server: validator failures", async () => {
  const token = "s3cr3tT0ken";
  const message = text.encode(`n,,\x01auth=Bearer ${token}\x01\x01`);
  const boom = new Error("introspection endpoint unreachable");
  const throwing = new OAuthBearerServer({
    validate: () => {
      throw boom;
    },
  });
  const error = await assertRejects(() => throwing.next(message), "authentication-failed", token);
  assert.equal(error.cause, boom);
  await assertRejects(() => throwing.next(message), "invalid-state");

  const rejecting = new OAuthBearerServer({ validate: () => Promise.reject(boom) });
  assert.equal(
    (await assertRejects(() => rejecting.next(message), "authentication-failed", token)).cause,
    boom,
  );
  const typed = new OAuthBearerServer({
    validate: () => {
      throw new SaslError("invalid-token", "revoked");
    },
  });
  await assertRejects(() => typed.next(message), "invalid-token");

  const garbage: unknown[] = [
    undefined,
    null,
    "alice",
    {},
    { authenticationId: "" },
    { authenticationId: 1 },
    { error: "invalid_token" },
    { error: {} },
    { error: { status: "" } },
    { error: { status: "invalid_token", scope: 1 } },
    { error: { status: "x".repeat(5000) } },
    { authenticationId: "alice", error: { status: "invalid_token" } },
  ];
  for (const verdict of garbage) {
    const server = new OAuthBearerServer({
      validate: () => verdict as { authenticationId: string },
    });
    await assertRejects(() => server.next(message), "invalid-argument", token);
    const later = new OAuthBearerServer({
      validate: () => Promise.resolve(verdict as { authenticationId: string }),
    });
    await assertRejects(() => later.next(message), "invalid-argument", token);
  }
  assertSaslError(
    () => new OAuthBearerServer({} as OAuthBearerServerOptions),
    "invalid-argument",
  );
});

Deno.test("OAUTHBEARER server: authorization", async () => {
  const validate = () => ({ authenticationId: "alice" });
  const self = new OAuthBearerServer({ validate });
  await self.next(text.encode("n,a=alice,\x01auth=Bearer t\x01\x01"));
  assert.equal(self.outcome().authorizationId, "alice");
  const noAuthzid = new OAuthBearerServer({ validate });
  await noAuthzid.next(text.encode("n,,\x01auth=Bearer t\x01\x01"));
  assert.deepEqual(noAuthzid.outcome(), {
    mechanism: "OAUTHBEARER",
    authenticationId: "alice",
    qop: "auth",
  });
  await assertRejects(
    () =>
      new OAuthBearerServer({ validate }).next(text.encode("n,a=bob,\x01auth=Bearer t\x01\x01")),
    "authorization-failed",
  );
  const asked: string[][] = [];
  const admin = new OAuthBearerServer({
    validate,
    authorize: (id, as) => (asked.push([id, as]), as === "bob"),
  });
  await admin.next(text.encode("n,a=bob,\x01auth=Bearer t\x01\x01"));
  assert.deepEqual(asked, [["alice", "bob"]]);
  assert.equal(admin.outcome().authorizationId, "bob");
  // A rejected token never reaches authorize.
  let called = false;
  const rejected = new OAuthBearerServer({
    validate: () => ({ error: { status: "invalid_token" } }),
    authorize: () => (called = true),
  });
  await rejected.next(text.encode("n,a=bob,\x01auth=Bearer t\x01\x01"));
  assert.equal(called, false);
});

Deno.test("OAUTHBEARER server: what the grammar allows", async () => {
  const cases: [string, Partial<TokenRequest> & { token: string }][] = [
    ["y,,\x01auth=Bearer t\x01\x01", { token: "t" }],
    ["n,,\x01auth=bearer t\x01\x01", { token: "t" }],
    ["n,,\x01auth=BEARER   t\x01\x01", { token: "t" }],
    ["n,,\x01auth=Bearer a-._~+/b==\x01\x01", { token: "a-._~+/b==" }],
    ["n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01", { token: "t", authorizationId: "a,b=c" }],
    ["n,a==3D2C,\x01auth=Bearer t\x01\x01", { token: "t", authorizationId: "=2C" }],
    ["n,a=ü,\x01auth=Bearer t\x01\x01", { token: "t", authorizationId: "ü" }],
    ["n,,\x01port=0\x01host=h\x01auth=Bearer t\x01\x01", { token: "t", host: "h", port: 0 }],
    ["n,,\x01host=\x01auth=Bearer t\x01\x01", { token: "t", host: "" }],
    ["n,,\x01port=00143\x01auth=Bearer t\x01\x01", { token: "t", port: 143 }],
    ["n,,\x01auth=Bearer t\x01xtra=any \t\r\nthing\x01\x01", { token: "t" }],
  ];
  for (const [message, expected] of cases) {
    let seen: Partial<TokenRequest> & { token: string } = { token: "" };
    const server = new OAuthBearerServer({
      validate: (token, request) => {
        seen = { token, ...request };
        return { authenticationId: request.authorizationId ?? "anyone" };
      },
    });
    assert.equal((await server.next(text.encode(message))).done, true, JSON.stringify(message));
    assert.deepEqual(seen, { mechanism: "OAUTHBEARER", ...expected });
  }
});

/** Malformed OAUTHBEARER client responses and the exact code each must produce. */
export const OAUTHBEARER_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  { name: "empty", input: new Uint8Array(0), code: "malformed-response" },
  { name: "only %x01", input: new Uint8Array([1]), code: "malformed-response" },
  { name: "no %x01", input: text.encode("n,,auth=Bearer t"), code: "malformed-response" },
  {
    name: "no final %x01",
    input: text.encode("n,,\x01auth=Bearer t\x01"),
    code: "malformed-response",
  },
  {
    name: "three final %x01",
    input: text.encode("n,,\x01auth=Bearer t\x01\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "empty pair in the middle",
    input: text.encode("n,,\x01\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  { name: "no auth", input: text.encode("n,,\x01host=h\x01\x01"), code: "malformed-response" },
  { name: "no pairs", input: text.encode("n,,\x01\x01"), code: "malformed-response" },
  {
    name: "auth twice",
    input: text.encode("n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "host twice",
    input: text.encode("n,,\x01host=a\x01host=b\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "key with a digit",
    input: text.encode("n,,\x01auth2=x\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "empty key",
    input: text.encode("n,,\x01=x\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  { name: "pair without =", input: text.encode("n,,\x01auth\x01\x01"), code: "malformed-response" },
  {
    name: "key with a space",
    input: text.encode("n,,\x01auth =Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "NUL in a value",
    input: text.encode("n,,\x01host=a\0b\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "DEL in a value",
    input: text.encode("n,,\x01xtra=a\x7f\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "UTF-8 in a value",
    input: text.encode("n,,\x01host=bücher\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "not Bearer",
    input: text.encode("n,,\x01auth=Basic dXNlcjpwdw==\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "Bearer without token",
    input: text.encode("n,,\x01auth=Bearer \x01\x01"),
    code: "malformed-response",
  },
  {
    name: "Bearer without space",
    input: text.encode("n,,\x01auth=Bearert\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "token with a space",
    input: text.encode("n,,\x01auth=Bearer t u\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "token with a tab",
    input: text.encode("n,,\x01auth=Bearer\tt\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "trailing space",
    input: text.encode("n,,\x01auth=Bearer t \x01\x01"),
    code: "malformed-response",
  },
  {
    name: "port not a number",
    input: text.encode("n,,\x01port=imap\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "port 65536",
    input: text.encode("n,,\x01port=65536\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "port negative",
    input: text.encode("n,,\x01port=-1\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "port empty",
    input: text.encode("n,,\x01port=\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "port six digits",
    input: text.encode("n,,\x01port=000143\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "empty header",
    input: text.encode("\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "header without commas",
    input: text.encode("n\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "header with one comma",
    input: text.encode("n,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "unknown cb flag",
    input: text.encode("x,,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "channel binding p=",
    input: text.encode("p=tls-unique,,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "non-standard F flag",
    input: text.encode("F,n,,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "lone F",
    input: text.encode("F,,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "empty a=",
    input: text.encode("n,a=,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "b= instead of a=",
    input: text.encode("n,b=x,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "unescaped comma",
    input: text.encode("n,a=a,b,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "bad escape =2c",
    input: text.encode("n,a=a=2cb,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "bare =",
    input: text.encode("n,a=a=b,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "trailing =",
    input: text.encode("n,a=ab=,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "NUL in authzid",
    input: text.encode("n,a=a\0b,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "LF in authzid",
    input: text.encode("n,a=a\nb,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "invalid UTF-8 in authzid",
    input: new Uint8Array([
      ...text.encode("n,a="),
      0xc3,
      0x28,
      ...text.encode(",\x01auth=Bearer t\x01\x01"),
    ]),
    code: "malformed-response",
  },
  {
    name: "UTF-8 surrogate in authzid",
    input: new Uint8Array([
      ...text.encode("n,a="),
      0xed,
      0xa0,
      0x80,
      ...text.encode(",\x01auth=Bearer t\x01\x01"),
    ]),
    code: "malformed-response",
  },
  {
    name: "1025-octet authzid",
    input: text.encode(`n,a=${"a".repeat(1025)},\x01auth=Bearer t\x01\x01`),
    code: "message-too-long",
  },
  {
    name: "huge GS2 header",
    input: text.encode(`n,a=${"a".repeat(5000)},\x01auth=Bearer t\x01\x01`),
    code: "message-too-long",
  },
  {
    name: "256-octet host",
    input: text.encode(`n,,\x01host=${"h".repeat(256)}\x01auth=Bearer t\x01\x01`),
    code: "message-too-long",
  },
  {
    name: "33 pairs",
    input: text.encode(`n,,\x01${manyPairs(32)}auth=Bearer t\x01\x01`),
    code: "message-too-long",
  },
  {
    name: "65537 octets",
    input: sized(65537, "n,,\x01auth=Bearer ", "\x01\x01"),
    code: "message-too-long",
  },
];

Deno.test("OAUTHBEARER server: malformed responses", async (t) => {
  for (const { name, input, code } of OAUTHBEARER_MALFORMED) {
    await t.step(name, async () => {
      let called = false;
      const server = new OAuthBearerServer({
        validate: () => ((called = true), { authenticationId: "a" }),
      });
      await assertRejects(() => server.next(input), code);
      assert.equal(called, false, "the validator never sees a malformed response");
      assertSaslError(() => server.outcome(), "invalid-state");
      await assertRejects(() => server.next(input), "invalid-state");
    });
  }
  // 65536 octets and 32 pairs are still accepted.
  const limit = sized(65536, "n,,\x01auth=Bearer ", "\x01\x01");
  assert.equal(limit.length, 65536);
  const pairs = text.encode(`n,,\x01${manyPairs(31)}auth=Bearer t\x01\x01`);
  for (const input of [limit, pairs]) {
    const server = new OAuthBearerServer({ validate: () => ({ authenticationId: "a" }) });
    assert.equal((await server.next(input)).done, true);
  }
});

Deno.test("OAUTHBEARER server: a hostile response is refused quickly", async () => {
  // Thousands of tiny pairs, %x01 floods, '=' floods: each is linear and bounded.
  const inputs = [
    new Uint8Array(65536).fill(1),
    text.encode(`n,,\x01${"a=\x01".repeat(16000)}\x01`),
    text.encode(`n,a=${"=3D".repeat(300)},\x01auth=Bearer t\x01\x01`),
    text.encode(`n,,${"=".repeat(60000)}\x01\x01`),
  ];
  const started = performance.now();
  for (const input of inputs) {
    const server = new OAuthBearerServer({ validate: () => ({ authenticationId: "a" }) });
    try {
      await server.next(input);
    } catch (error) {
      assert.ok(error instanceof SaslError);
    }
  }
  assert.ok(performance.now() - started < 500, "hostile inputs took too long");
});

Deno.test("OAUTHBEARER: client and server round trips", async () => {
  const cases: OAuthBearerClientOptions[] = [
    RFC_IMAP_OPTIONS,
    { token: "ya29.a0AfB_byC-token~+/==" },
    { token: "t", authorizationId: "Ünïcødé,=用户@例え.jp" },
    { token: "t", authorizationId: "🔑=2C", host: "mail.example.com", port: 587 },
    { token: "t".repeat(60000), authorizationId: "é".repeat(512) },
  ];
  for (const options of cases) {
    let seen: [string, TokenRequest] | undefined;
    const server = new OAuthBearerServer({
      validate: (token, request) => {
        seen = [token, request];
        return Promise.resolve({ authenticationId: request.authorizationId ?? "owner" });
      },
    });
    const client = new OAuthBearerClient(options);
    client.start();
    // No initial response: the server challenges with nothing, the client sends the message.
    const challenge = (await server.next(undefined)).challenge!;
    assert.equal((await server.next(client.next(challenge))).done, true);
    assert.equal(seen![0], options.token);
    assert.equal(seen![1].authorizationId, options.authorizationId);
    assert.equal(seen![1].host, options.host);
    assert.equal(seen![1].port, options.port);
    assert.equal(client.finish().authorizationId, server.outcome().authorizationId);
  }
  // A rejected token, end to end: error challenge, %x01, typed failure on both sides.
  const server = new OAuthBearerServer(rfcServerOptions);
  const client = new OAuthBearerClient({ ...RFC_IMAP_OPTIONS, token: "expired" });
  const step = await server.next(client.start());
  const ack = client.next(step.challenge!);
  const serverSide = await assertRejects(() => server.next(ack), "invalid-token", "expired");
  assert.equal(client.serverError?.code, serverSide.code);
  assert.equal(client.serverError?.message, serverSide.message);
});

const context = { service: "imap", host: "server.example.com", port: 143 };

Deno.test("OAUTHBEARER descriptor: properties and registry", () => {
  assert.equal(oauthBearerMechanism.name, "OAUTHBEARER");
  assert.equal(oauthBearerMechanism.credentialKind, "oauth");
  assert.deepEqual(
    oauthBearerMechanism.properties,
    new OAuthBearerClient({ token: "t" }).properties,
  );
  assert.equal(defaultRegistry.get("oauthbearer"), oauthBearerMechanism);
  const credentials = { kind: "oauth" as const, username: "u@example.com", token: "t" };
  const offered = ["PLAIN", "OAUTHBEARER", "XOAUTH2"];
  const secure = defaultRegistry.negotiate({ offered, credentials, secure: true });
  assert.deepEqual(secure.order.map((m) => m.name), ["OAUTHBEARER", "XOAUTH2"]);
  // A bearer token is a reusable secret: not over a plain connection.
  const plain = defaultRegistry.negotiate({
    offered,
    preferred: ["OAUTHBEARER"],
    credentials,
    secure: false,
  });
  assert.deepEqual(plain.order, []);
  assert.deepEqual(plain.skipped.map((x) => x.reason), ["needs-tls"]);
});

Deno.test("OAUTHBEARER descriptor: createClient resolves the token", async () => {
  const fromString = oauthBearerMechanism.createClient(
    { kind: "oauth", username: "user@example.com", token: RFC_TOKEN },
    context,
  );
  assert.ok(fromString instanceof Promise, "createClient is asynchronous");
  assert.equal(encodeBase64((await fromString).start()!), RFC_IMAP_INITIAL);

  const asked: boolean[] = [];
  const token = ({ refresh }: { refresh: boolean }) => {
    asked.push(refresh);
    return Promise.resolve(refresh ? "fresh" : "stale");
  };
  const stale = await oauthBearerMechanism.createClient({ kind: "oauth", token }, context);
  assert.equal(
    decode(stale.start()!),
    "n,,\x01host=server.example.com\x01port=143\x01auth=Bearer stale\x01\x01",
  );
  const fresh = await oauthBearerMechanism.createClient(
    { kind: "oauth", token },
    { service: "smtp", host: "mail.example.com", refreshToken: true },
  );
  assert.equal(decode(fresh.start()!), "n,,\x01host=mail.example.com\x01auth=Bearer fresh\x01\x01");
  assert.deepEqual(asked, [false, true]);
});

Deno.test("OAUTHBEARER descriptor: createClient failures are invalid-argument", async () => {
  const boom = new Error("refresh token revoked");
  const cases: [unknown, unknown][] = [
    [{ username: "u", password: "p" }, undefined],
    [{ kind: "external" }, undefined],
    [{
      kind: "oauth",
      token: () => {
        throw boom;
      },
    }, boom],
    [{ kind: "oauth", token: () => Promise.reject(boom) }, boom],
    [{ kind: "oauth", token: () => 42 }, undefined],
    [{ kind: "oauth", token: () => "" }, undefined],
    [{ kind: "oauth", token: "with space" }, undefined],
    [{ kind: "oauth", token: 7 }, undefined],
  ];
  for (const [credentials, cause] of cases) {
    const error = await assertRejects(
      () => oauthBearerMechanism.createClient(credentials as never, context),
      "invalid-argument",
    );
    assert.equal(error.cause, cause);
  }
  await assertRejects(
    () =>
      oauthBearerMechanism.createClient({ kind: "oauth", token: "t" }, {
        service: "imap",
        host: "bücher.example",
      }),
    "invalid-argument",
  );
});

Deno.test("OAUTHBEARER descriptor: createServer from store.token", async () => {
  assertSaslError(
    () => oauthBearerMechanism.createServer({ password: () => "x" }, context),
    "invalid-argument",
  );
  const requests: unknown[] = [];
  const server = oauthBearerMechanism.createServer({
    token: (token, request) => {
      requests.push(request);
      return token === RFC_TOKEN
        ? { authenticationId: "svc" }
        : { error: { status: "invalid_token", scope: "example_scope" } };
    },
    authorize: (id, as) => id === "svc" && as === "user@example.com",
  }, context);
  assert.equal((await server.next(decodeBase64(RFC_IMAP_INITIAL))).done, true);
  assert.deepEqual(server.outcome(), {
    mechanism: "OAUTHBEARER",
    authenticationId: "svc",
    authorizationId: "user@example.com",
    qop: "auth",
  });
  assert.equal((requests[0] as TokenRequest).host, "server.example.com");
  const rejecting = oauthBearerMechanism.createServer({
    token: () => ({ error: { status: "invalid_token" } }),
  }, context);
  await rejecting.next(text.encode("n,,\x01auth=Bearer t\x01\x01"));
  await assertRejects(() => rejecting.next(new Uint8Array([1])), "invalid-token");
});

Deno.test("OAUTHBEARER descriptor: redact", async () => {
  const redact = (message: string | Uint8Array) =>
    oauthBearerMechanism.redact(typeof message === "string" ? text.encode(message) : message, {});
  assert.equal(
    redact(decodeBase64(RFC_IMAP_INITIAL)),
    "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer ***\x01\x01",
  );
  assert.equal(redact("n,,\x01auth=Bearer abc\x01\x01"), "n,,\x01auth=Bearer ***\x01\x01");
  assert.equal(
    redact("n,,\x01auth=Bearer abc\x01xtra=secret\x01\x01"),
    "n,,\x01auth=Bearer ***\x01xtra=***\x01\x01",
  );
  assert.equal(redact("n,,\x01auth=Basic abc\x01\x01"), "n,,\x01auth=***\x01\x01");
  assert.equal(redact("n,,\x01abc\x01\x01"), "n,,\x01***\x01\x01");
  assert.equal(redact("n,,\x01auth=Bearer abc"), "n,,\x01auth=Bearer ***");
  assert.equal(redact(new Uint8Array([1])), "\x01"); // the answer to an error challenge
  assert.equal(redact(new Uint8Array(0)), "(empty)");
  assert.equal(redact("Bearer abc"), "***");
  // Whatever the client sent in a round trip, the token never shows.
  const token = "s3cr3t.T0ken~+/==";
  for (const username of [undefined, "user@example.com", "a,b=c", "Ünï"]) {
    const client = await oauthBearerMechanism.createClient(
      { kind: "oauth", username, token },
      context,
    );
    const shown = oauthBearerMechanism.redact(client.start()!, {});
    assert.ok(!shown.includes("s3cr3t"), shown);
    assert.ok(shown.includes("host=server.example.com"), shown);
  }
});

/** Mutations of a valid message: flips, cuts, and the grammar's special octets inserted. */
function* mutations(valid: Uint8Array, count: number, seed: number): Generator<Uint8Array> {
  let state = seed;
  const random = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const specials = [0x00, 0x01, 0x2c, 0x3d, 0x20, 0x0a, 0x22, 0x7b, 0x7d, 0xff, 0xc3];
  for (let i = 0; i < count; i++) {
    const bytes = [...valid];
    for (let edits = 1 + random(4); edits > 0; edits--) {
      const at = random(bytes.length + 1);
      switch (random(4)) {
        case 0:
          bytes[at] = random(256);
          break;
        case 1:
          bytes.splice(at, 0, specials[random(specials.length)]);
          break;
        case 2:
          bytes.splice(at, 1 + random(3));
          break;
        default:
          bytes.length = at;
      }
    }
    yield new Uint8Array(bytes);
  }
}

Deno.test("OAUTHBEARER: mutated messages give a verdict or a SaslError, never anything else", async () => {
  const valid = decodeBase64(RFC_IMAP_INITIAL);
  for (const input of mutations(valid, 3000, 0x9e3779b9)) {
    const server = new OAuthBearerServer({
      validate: (token) =>
        token === RFC_TOKEN ? { authenticationId: "a" } : { error: { status: "invalid_token" } },
      authorize: () => true,
    });
    try {
      await server.next(input);
    } catch (error) {
      assert.ok(error instanceof SaslError, `${error} for ${JSON.stringify(decode(input))}`);
    }
  }
  const error = text.encode(
    '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://x/"}',
  );
  for (const input of mutations(error, 3000, 0x85ebca6b)) {
    const client = new OAuthBearerClient({ token: "abc" });
    client.start();
    try {
      const answer = client.next(input);
      // A challenge the client accepts is an error report, answered with %x01 (or, if empty,
      // with the message again).
      assert.ok(input.length === 0 || (answer.length === 1 && answer[0] === 1));
    } catch (error) {
      assert.ok(error instanceof SaslError, `${error}`);
    }
  }
});
