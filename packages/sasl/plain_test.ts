import assert from "node:assert/strict";
import {
  PlainClient,
  type PlainClientOptions,
  PlainServer,
  type PlainServerOptions,
} from "./plain.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function assertSaslError(fn: () => unknown, code: SaslErrorCode, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code);
    if (secret) assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

const users: Record<string, string> = { tim: "tanstaaftanstaaf", Kurt: "xipj3plmq" };
const serverOptions: PlainServerOptions = {
  verify: (user, password) => users[user] === password,
  authorize: (user, authzid) => authzid === user || (user === "Kurt" && authzid === "Ursel"),
};

Deno.test("PLAIN client: RFC 4616 §4 vectors", () => {
  const tim = new PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  assert.equal(tim.name, "PLAIN");
  assert.equal(decode(tim.start()), "\0tim\0tanstaaftanstaaf");
  assert.deepEqual(tim.finish(), { mechanism: "PLAIN", authenticationId: "tim", qop: "auth" });

  const kurt = new PlainClient({
    username: "Kurt",
    password: "xipj3plmq",
    authorizationId: "Ursel",
  });
  assert.equal(decode(kurt.start()), "Ursel\0Kurt\0xipj3plmq");
  assert.deepEqual(kurt.finish(), {
    mechanism: "PLAIN",
    authenticationId: "Kurt",
    authorizationId: "Ursel",
    qop: "auth",
  });
});

Deno.test("PLAIN client: properties", () => {
  const client = new PlainClient({ username: "tim", password: "x" });
  assert.deepEqual(client.properties, {
    sendsCleartextPassword: true,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: true,
    channelBinding: false,
    carriesAuthorizationId: true,
  });
});

Deno.test("PLAIN client: an empty challenge gets the message once", () => {
  const client = new PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  const initial = client.start();
  assert.deepEqual(client.next(new Uint8Array(0)), initial);
  assertSaslError(() => client.next(new Uint8Array(0)), "invalid-state");
  assert.equal(client.finish().authenticationId, "tim");
});

Deno.test("PLAIN client: state machine", () => {
  const fresh = () => new PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  assertSaslError(() => fresh().finish(), "invalid-state");
  assertSaslError(() => fresh().next(new Uint8Array(0)), "invalid-state");

  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");

  const done = fresh();
  done.start();
  done.finish();
  assertSaslError(() => done.finish(), "invalid-state");
  assertSaslError(() => done.next(new Uint8Array(0)), "invalid-state");

  const challenged = fresh();
  challenged.start();
  assertSaslError(() => challenged.next(text.encode("hello")), "malformed-challenge");
  assertSaslError(() => challenged.finish(), "invalid-state");

  const data = fresh();
  data.start();
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");
  const emptyData = fresh();
  emptyData.start();
  assert.equal(emptyData.finish(new Uint8Array(0)).qop, "auth");
});

Deno.test("PLAIN client: the returned message is a copy that finish() does not wipe", () => {
  const client = new PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  const initial = client.start();
  client.finish();
  assert.equal(decode(initial), "\0tim\0tanstaaftanstaaf");
});

Deno.test("PLAIN client: invalid options", async (t) => {
  const cases: { name: string; options: PlainClientOptions }[] = [
    { name: "empty username", options: { username: "", password: "s3cr3t" } },
    { name: "empty password", options: { username: "u", password: "" } },
    { name: "NUL in username", options: { username: "u\0v", password: "s3cr3t" } },
    { name: "NUL in password", options: { username: "u", password: "s3cr\0t" } },
    {
      name: "NUL in authzid",
      options: { username: "u", password: "s3cr3t", authorizationId: "a\0" },
    },
    { name: "256-octet username", options: { username: "u".repeat(256), password: "s3cr3t" } },
    { name: "256-octet password", options: { username: "u", password: "é".repeat(128) } },
  ];
  for (const { name, options } of cases) {
    await t.step(name, () => {
      assertSaslError(() => new PlainClient(options), "invalid-argument", options.password);
    });
  }
  // 255 octets is the limit, inclusive.
  new PlainClient({ username: "u".repeat(255), password: "p".repeat(255) });
});

Deno.test("PLAIN server: RFC 4616 §4 vectors", () => {
  const tim = new PlainServer(serverOptions);
  assert.equal(tim.name, "PLAIN");
  assert.deepEqual(tim.next(text.encode("\0tim\0tanstaaftanstaaf")), { done: true });
  assert.deepEqual(tim.outcome(), { mechanism: "PLAIN", authenticationId: "tim", qop: "auth" });

  const kurt = new PlainServer(serverOptions);
  assert.equal(kurt.next(text.encode("Ursel\0Kurt\0xipj3plmq")).done, true);
  assert.deepEqual(kurt.outcome(), {
    mechanism: "PLAIN",
    authenticationId: "Kurt",
    authorizationId: "Ursel",
    qop: "auth",
  });
});

Deno.test("PLAIN server: without an initial response it sends an empty challenge", () => {
  const server = new PlainServer(serverOptions);
  const step = server.next(undefined);
  assert.equal(step.done, false);
  assert.deepEqual(step.challenge, new Uint8Array(0));
  assertSaslError(() => server.next(undefined), "invalid-state");
  assert.equal(server.next(text.encode("\0tim\0tanstaaftanstaaf")).done, true);
});

Deno.test("PLAIN server: state machine", () => {
  const server = new PlainServer(serverOptions);
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(text.encode("\0tim\0tanstaaftanstaaf"));
  assertSaslError(() => server.next(text.encode("\0tim\0tanstaaftanstaaf")), "invalid-state");
  assertSaslError(() => server.next(undefined), "invalid-state");

  const failed = new PlainServer(serverOptions);
  assertSaslError(() => failed.next(text.encode("\0tim\0wrong")), "authentication-failed");
  assertSaslError(() => failed.outcome(), "invalid-state");
  assertSaslError(() => failed.next(text.encode("\0tim\0tanstaaftanstaaf")), "invalid-state");
});

Deno.test("PLAIN server: default authorization allows only the own identity", () => {
  const verify = serverOptions.verify;
  const own = new PlainServer({ verify });
  own.next(text.encode("tim\0tim\0tanstaaftanstaaf"));
  assert.equal(own.outcome().authorizationId, "tim");
  assertSaslError(
    () => new PlainServer({ verify }).next(text.encode("Ursel\0Kurt\0xipj3plmq")),
    "authorization-failed",
  );
});

Deno.test("PLAIN server: authorize is not called before the password is verified", () => {
  let asked = false;
  const server = new PlainServer({
    verify: () => false,
    authorize: () => (asked = true),
  });
  assertSaslError(() => server.next(text.encode("Ursel\0Kurt\0nope")), "authentication-failed");
  assert.equal(asked, false);
});

Deno.test("PLAIN server: prepare is applied to authcid and password", () => {
  const seen: string[] = [];
  const server = new PlainServer({
    verify: (user, password) => {
      seen.push(user, password);
      return user === "IX" && password === "IV";
    },
    prepare: (value) => value.normalize("NFKC"),
  });
  server.next(text.encode("\0\u2168\0\u2163"));
  assert.deepEqual(seen, ["IX", "IV"]);
  assert.equal(server.outcome().authenticationId, "IX");

  const rejecting = new PlainServer({
    verify: () => true,
    prepare: (value) => {
      if (value.includes("\u0007")) throw new Error(`prohibited in ${value}`);
      return value;
    },
  });
  assertSaslError(
    () => rejecting.next(text.encode("\0tim\0secret\u0007")),
    "authentication-failed",
    "secret",
  );
  const emptying = new PlainServer({ verify: () => true, prepare: () => "" });
  assertSaslError(() => emptying.next(text.encode("\0tim\0secret")), "authentication-failed");
});

/** Malformed PLAIN messages and the exact code each must produce. */
export const PLAIN_MALFORMED: readonly { name: string; input: Uint8Array; code: SaslErrorCode }[] =
  [
    { name: "empty message", input: new Uint8Array(0), code: "malformed-response" },
    { name: "no NUL", input: text.encode("timtanstaaf"), code: "malformed-response" },
    { name: "one NUL", input: text.encode("tim\0tanstaaf"), code: "malformed-response" },
    { name: "three NULs", input: text.encode("\0tim\0tans\0taaf"), code: "malformed-response" },
    { name: "trailing NUL", input: text.encode("\0tim\0tanstaaf\0"), code: "malformed-response" },
    { name: "empty authcid", input: text.encode("\0\0tanstaaf"), code: "malformed-response" },
    { name: "empty password", input: text.encode("\0tim\0"), code: "malformed-response" },
    { name: "only NULs", input: text.encode("\0\0"), code: "malformed-response" },
    {
      name: "256-octet authcid",
      input: text.encode(`\0${"t".repeat(256)}\0tanstaaf`),
      code: "message-too-long",
    },
    {
      name: "256-octet password",
      input: text.encode(`\0tim\0${"p".repeat(256)}`),
      code: "message-too-long",
    },
    {
      name: "256-octet authzid",
      input: text.encode(`${"a".repeat(256)}\0tim\0tanstaaf`),
      code: "message-too-long",
    },
    {
      name: "768-octet message",
      input: text.encode(`\0tim\0${"p".repeat(762)}`),
      code: "message-too-long",
    },
    {
      name: "invalid UTF-8 in authcid",
      input: new Uint8Array([0, 0x74, 0xc3, 0x28, 0, 0x70]),
      code: "malformed-response",
    },
    {
      name: "invalid UTF-8 in password",
      input: new Uint8Array([0, 0x74, 0, 0xff, 0xfe]),
      code: "malformed-response",
    },
    {
      name: "invalid UTF-8 in authzid",
      input: new Uint8Array([0x80, 0, 0x74, 0, 0x70]),
      code: "malformed-response",
    },
    {
      name: "UTF-8-encoded surrogate in password",
      input: new Uint8Array([0, 0x74, 0, 0xed, 0xa0, 0x80]),
      code: "malformed-response",
    },
    {
      name: "wrong password",
      input: text.encode("\0tim\0tanstaaf"),
      code: "authentication-failed",
    },
    { name: "unknown user", input: text.encode("\0bob\0tanstaaf"), code: "authentication-failed" },
    {
      name: "authzid not allowed",
      input: text.encode("Ursel\0tim\0tanstaaftanstaaf"),
      code: "authorization-failed",
    },
  ];

Deno.test("PLAIN server: malformed messages", async (t) => {
  for (const { name, input, code } of PLAIN_MALFORMED) {
    await t.step(name, () => {
      const server = new PlainServer(serverOptions);
      assertSaslError(() => server.next(input), code, "tanstaaf");
      assertSaslError(() => server.outcome(), "invalid-state");
    });
  }
});

Deno.test("PLAIN: client and server round trips", () => {
  const cases = [
    { username: "tim", password: "tanstaaftanstaaf" },
    { username: "Kurt", password: "xipj3plmq", authorizationId: "Ursel" },
    { username: "Ünïcødé", password: "пароль🔑" },
    { username: "u".repeat(255), password: "p".repeat(255), authorizationId: "u".repeat(255) },
  ];
  for (const options of cases) {
    let seen: [string, string] | undefined;
    const server = new PlainServer({
      verify: (user, password) => {
        seen = [user, password];
        return true;
      },
      authorize: () => true,
    });
    const client = new PlainClient(options);
    // No initial response: the server challenges with nothing, the client sends the message.
    const challenge = server.next(undefined).challenge!;
    assert.equal(server.next(client.next((client.start(), challenge))).done, true);
    assert.deepEqual(seen, [options.username, options.password]);
    const clientOutcome = client.finish();
    assert.deepEqual(server.outcome(), clientOutcome);
    assert.equal(clientOutcome.authorizationId, options.authorizationId);
  }
});
