import assert from "node:assert/strict";
import { defaultRegistry } from "./default_registry.ts";
import {
  type TokenRequest,
  XOAuth2Client,
  type XOAuth2ClientOptions,
  xoauth2Mechanism,
  XOAuth2Server,
  type XOAuth2ServerOptions,
} from "./xoauth2.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
/** `prefix`, `fill` repeated, `suffix`: exactly `octets` long. */
const sized = (octets: number, prefix: string, suffix: string, fill = "t") =>
  text.encode(prefix + fill.repeat(octets - text.encode(prefix + suffix).length) + suffix);

function assertSaslError(fn: () => unknown, code: SaslErrorCode, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code);
    if (secret) assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

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

// Google's "XOAUTH2 mechanism" page: the initial client response, and the error challenge.
const GOOGLE_USER = "someuser@example.com";
const GOOGLE_TOKEN = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
const GOOGLE_INITIAL =
  "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52" +
  "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
const GOOGLE_ERROR =
  "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9t" +
  "YWlsLmdvb2dsZS5jb20vIn0K";
// What Gmail sends today (schemes "bearer", no trailing newline).
const GMAIL_ERROR =
  "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

Deno.test("XOAUTH2 client: Google's example, byte for byte", () => {
  const client = new XOAuth2Client({ username: GOOGLE_USER, token: GOOGLE_TOKEN });
  assert.equal(client.name, "XOAUTH2");
  const initial = client.start();
  assert.equal(
    decode(initial),
    "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
  );
  assert.equal(encodeBase64(initial), GOOGLE_INITIAL);
  assert.deepEqual(client.finish(), {
    mechanism: "XOAUTH2",
    authenticationId: GOOGLE_USER,
    qop: "auth",
  });
});

Deno.test("XOAUTH2 client: Google's error challenge gets the empty response", () => {
  for (const [challenge, schemes] of [[GOOGLE_ERROR, "bearer mac"], [GMAIL_ERROR, "bearer"]]) {
    const client = new XOAuth2Client({ username: GOOGLE_USER, token: GOOGLE_TOKEN });
    client.start();
    const error = decodeBase64(challenge);
    assert.deepEqual(client.next(error), new Uint8Array(0));
    assert.ok(client.serverError instanceof SaslError);
    assert.equal(client.serverError.code, "invalid-token");
    assert.match(client.serverError.message, /"401"/);
    assert.match(client.serverError.message, /"https:\/\/mail\.google\.com\/"/);
    assert.ok(!client.serverError.message.includes(GOOGLE_TOKEN));
    assert.deepEqual(client.serverErrorDetails, {
      status: "401",
      schemes,
      scope: "https://mail.google.com/",
    });
    assertSaslError(() => client.next(error), "invalid-state");
    assertSaslError(() => client.finish(), "malformed-challenge");
  }
});

Deno.test("XOAUTH2 client: other statuses are oauth-error", () => {
  const cases: [string, SaslErrorCode][] = [
    ['{"status":"400","schemes":"bearer"}', "oauth-error"],
    ['{"status":"403","scope":"https://mail.google.com/"}', "oauth-error"],
    ['{"status":"invalid_token"}', "invalid-token"],
  ];
  for (const [json, code] of cases) {
    const client = new XOAuth2Client({ username: "u", token: "t" });
    client.start();
    assert.deepEqual(client.next(text.encode(json)), new Uint8Array(0));
    assert.equal(client.serverError?.code, code);
  }
});

Deno.test("XOAUTH2 client: properties", () => {
  assert.deepEqual(new XOAuth2Client({ username: "u", token: "t" }).properties, {
    sendsCleartextPassword: true,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: true,
    channelBinding: false,
    carriesAuthorizationId: false,
  });
});

Deno.test("XOAUTH2 client: invalid options", async (t) => {
  const secret = "s3cr3tT0ken";
  const cases: { name: string; options: XOAuth2ClientOptions }[] = [
    { name: "empty username", options: { username: "", token: secret } },
    { name: "username with %x01", options: { username: "u\x01auth=x", token: secret } },
    { name: "username with NUL", options: { username: "u\0", token: secret } },
    { name: "username with CR LF", options: { username: "u\r\n", token: secret } },
    { name: "username lone surrogate", options: { username: "\udc00u", token: secret } },
    { name: "1025-octet username", options: { username: "é".repeat(513), token: secret } },
    { name: "empty token", options: { username: "u", token: "" } },
    { name: "token with a space", options: { username: "u", token: `${secret} x` } },
    { name: "token with %x01", options: { username: "u", token: `${secret}\x01` } },
    { name: "non-ASCII token", options: { username: "u", token: `${secret}ß` } },
  ];
  for (const { name, options } of cases) {
    await t.step(name, () => {
      assertSaslError(() => new XOAuth2Client(options), "invalid-argument", secret);
    });
  }
  new XOAuth2Client({ username: "é".repeat(512), token: secret });
});

Deno.test("XOAUTH2 client: an empty challenge gets the message once; state machine", () => {
  const fresh = () => new XOAuth2Client({ username: "u", token: "t" });
  const client = fresh();
  const initial = client.start();
  assert.deepEqual(client.next(new Uint8Array(0)), initial);
  assertSaslError(() => client.next(new Uint8Array(0)), "invalid-state");
  assert.equal(client.finish().authenticationId, "u");
  assertSaslError(() => client.finish(), "invalid-state");
  assertSaslError(() => fresh().finish(), "invalid-state");
  assertSaslError(() => fresh().next(new Uint8Array(0)), "invalid-state");
  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");
  const data = fresh();
  data.start();
  assertSaslError(() => data.finish(text.encode("+")), "malformed-challenge");
  const copy = fresh();
  const bytes = copy.start();
  copy.finish();
  assert.equal(decode(bytes), "user=u\x01auth=Bearer t\x01\x01");
});

Deno.test("XOAUTH2 client: malformed challenges", async (t) => {
  const cases: { name: string; input: Uint8Array; code: SaslErrorCode }[] = [
    { name: "not JSON", input: text.encode("Username:"), code: "malformed-challenge" },
    { name: "base64 left undecoded", input: text.encode(GMAIL_ERROR), code: "malformed-challenge" },
    { name: "JSON array", input: text.encode("[]"), code: "malformed-challenge" },
    { name: "numeric status", input: text.encode('{"status":401}'), code: "malformed-challenge" },
    { name: "no status", input: text.encode('{"schemes":"bearer"}'), code: "malformed-challenge" },
    {
      name: "schemes not a string",
      input: text.encode('{"status":"401","schemes":["bearer"]}'),
      code: "malformed-challenge",
    },
    {
      name: "invalid UTF-8",
      input: new Uint8Array([0x7b, 0xc0, 0x7d]),
      code: "malformed-challenge",
    },
    {
      name: "4097 octets",
      input: sized(4097, '{"status":"401","scope":"', '"}', "s"),
      code: "message-too-long",
    },
  ];
  for (const { name, input, code } of cases) {
    await t.step(name, () => {
      const client = new XOAuth2Client({ username: "u", token: "s3cr3tT0ken" });
      client.start();
      assertSaslError(() => client.next(input), code, "s3cr3tT0ken");
      assert.equal(client.serverError, undefined);
      assertSaslError(() => client.finish(), "invalid-state");
    });
  }
});

const googleServer: XOAuth2ServerOptions = {
  validate: (token, { authorizationId }) =>
    token === GOOGLE_TOKEN
      ? { authenticationId: authorizationId! }
      : { error: { status: "401", scope: "https://mail.google.com/" } },
};

Deno.test("XOAUTH2 server: Google's example", async () => {
  const seen: [string, TokenRequest][] = [];
  const server = new XOAuth2Server({
    validate: (token, request) => {
      seen.push([token, request]);
      return { authenticationId: GOOGLE_USER };
    },
  });
  assert.equal(server.name, "XOAUTH2");
  const step = server.next(decodeBase64(GOOGLE_INITIAL));
  assert.ok(!(step instanceof Promise));
  assert.deepEqual(step, { done: true });
  assert.deepEqual(seen, [[GOOGLE_TOKEN, { mechanism: "XOAUTH2", authorizationId: GOOGLE_USER }]]);
  assert.deepEqual(server.outcome(), {
    mechanism: "XOAUTH2",
    authenticationId: GOOGLE_USER,
    qop: "auth",
  });
  await Promise.resolve();
});

Deno.test("XOAUTH2 server: Gmail's error challenge, byte for byte, then the failure", async () => {
  const server = new XOAuth2Server(googleServer);
  const step = await server.next(
    text.encode(`user=${GOOGLE_USER}\x01auth=Bearer ya29.old\x01\x01`),
  );
  assert.equal(step.done, false);
  assert.equal(encodeBase64(step.challenge!), GMAIL_ERROR);
  assertSaslError(() => server.outcome(), "invalid-state");
  await assertRejects(() => server.next(new Uint8Array(0)), "invalid-token", "ya29.old");
  await assertRejects(() => server.next(new Uint8Array(0)), "invalid-state");

  const named = new XOAuth2Server({
    validate: () => ({ error: { status: "400", schemes: "bearer mac" } }),
  });
  const challenge = (await named.next(text.encode("user=u\x01auth=Bearer t\x01\x01"))).challenge!;
  assert.equal(decode(challenge), '{"status":"400","schemes":"bearer mac"}');
  await assertRejects(() => named.next(new Uint8Array(0)), "oauth-error");

  const wrongAck = new XOAuth2Server(googleServer);
  await wrongAck.next(text.encode("user=u\x01auth=Bearer old\x01\x01"));
  await assertRejects(() => wrongAck.next(new Uint8Array([1])), "malformed-response");
});

Deno.test("XOAUTH2 server: no initial response, async validator, authorization", async () => {
  const server = new XOAuth2Server({
    validate: (token) =>
      Promise.resolve(
        token === "good" ? { authenticationId: "svc" } : { error: { status: "401" } },
      ),
    authorize: (id, user) => id === "svc" && user === "alice",
  });
  assert.deepEqual(server.next(undefined), { challenge: new Uint8Array(0), done: false });
  await assertRejects(() => server.next(undefined), "invalid-state");
  const pending = server.next(text.encode("user=alice\x01auth=Bearer good\x01\x01"));
  assert.ok(pending instanceof Promise);
  await assertRejects(
    () => server.next(text.encode("user=alice\x01auth=Bearer good\x01\x01")),
    "invalid-state",
  );
  assert.deepEqual(await pending, { done: true });
  assert.deepEqual(server.outcome(), {
    mechanism: "XOAUTH2",
    authenticationId: "svc",
    authorizationId: "alice",
    qop: "auth",
  });
  // By default the token's owner may log in only as itself.
  await assertRejects(
    () =>
      new XOAuth2Server({ validate: () => ({ authenticationId: "svc" }) }).next(
        text.encode("user=alice\x01auth=Bearer good\x01\x01"),
      ),
    "authorization-failed",
  );
  const boom = new Error("down");
  const failing = new XOAuth2Server({ validate: () => Promise.reject(boom) });
  const error = await assertRejects(
    () => failing.next(text.encode("user=u\x01auth=Bearer s3cr3t\x01\x01")),
    "authentication-failed",
    "s3cr3t",
  );
  assert.equal(error.cause, boom);
  const garbage = new XOAuth2Server({ validate: () => ({}) as { authenticationId: string } });
  await assertRejects(
    () => garbage.next(text.encode("user=u\x01auth=Bearer t\x01\x01")),
    "invalid-argument",
  );
  assertSaslError(() => new XOAuth2Server({} as XOAuth2ServerOptions), "invalid-argument");
});

Deno.test("XOAUTH2 server: what the format allows", async () => {
  const cases: [string, string, string][] = [
    ["auth=Bearer t\x01user=u\x01\x01", "u", "t"],
    ["user=u\x01auth=bearer t\x01\x01", "u", "t"],
    ["user=用户@例え.jp\x01auth=Bearer t\x01\x01", "用户@例え.jp", "t"],
    ["user=a b=c,d\x01auth=Bearer t\x01\x01", "a b=c,d", "t"],
  ];
  for (const [message, user, token] of cases) {
    let seen: [string, string | undefined] | undefined;
    const server = new XOAuth2Server({
      validate: (t, request) => ((seen = [t, request.authorizationId]), { authenticationId: user }),
    });
    assert.equal((await server.next(text.encode(message))).done, true);
    assert.deepEqual(seen, [token, user]);
  }
});

/** Malformed XOAUTH2 messages and the exact code each must produce. */
export const XOAUTH2_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  { name: "empty", input: new Uint8Array(0), code: "malformed-response" },
  { name: "only %x01", input: new Uint8Array([1]), code: "malformed-response" },
  {
    name: "OAUTHBEARER message",
    input: text.encode("n,,\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "no final %x01",
    input: text.encode("user=u\x01auth=Bearer t\x01"),
    code: "malformed-response",
  },
  {
    name: "no %x01 at all",
    input: text.encode("user=u auth=Bearer t"),
    code: "malformed-response",
  },
  {
    name: "extra %x01",
    input: text.encode("user=u\x01auth=Bearer t\x01\x01\x01"),
    code: "malformed-response",
  },
  { name: "no user", input: text.encode("auth=Bearer t\x01\x01"), code: "malformed-response" },
  { name: "no auth", input: text.encode("user=u\x01\x01"), code: "malformed-response" },
  {
    name: "empty user",
    input: text.encode("user=\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "user twice",
    input: text.encode("user=u\x01user=v\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "unknown key",
    input: text.encode("user=u\x01host=h\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "upper-case key",
    input: text.encode("USER=u\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "user with LF",
    input: text.encode("user=u\nv\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "user with NUL",
    input: text.encode("user=u\0\x01auth=Bearer t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "user invalid UTF-8",
    input: new Uint8Array([
      ...text.encode("user="),
      0xff,
      ...text.encode("\x01auth=Bearer t\x01\x01"),
    ]),
    code: "malformed-response",
  },
  {
    name: "not Bearer",
    input: text.encode("user=u\x01auth=Basic t\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "token missing",
    input: text.encode("user=u\x01auth=Bearer\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "token with a space",
    input: text.encode("user=u\x01auth=Bearer t u\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "token with UTF-8",
    input: text.encode("user=u\x01auth=Bearer tö\x01\x01"),
    code: "malformed-response",
  },
  {
    name: "1025-octet user",
    input: text.encode(`user=${"u".repeat(1025)}\x01auth=Bearer t\x01\x01`),
    code: "message-too-long",
  },
  {
    name: "65537 octets",
    input: sized(65537, "user=u\x01auth=Bearer ", "\x01\x01"),
    code: "message-too-long",
  },
];

Deno.test("XOAUTH2 server: malformed messages", async (t) => {
  for (const { name, input, code } of XOAUTH2_MALFORMED) {
    await t.step(name, async () => {
      let called = false;
      const server = new XOAuth2Server({
        validate: () => ((called = true), { authenticationId: "u" }),
      });
      await assertRejects(() => server.next(input), code);
      assert.equal(called, false);
      assertSaslError(() => server.outcome(), "invalid-state");
    });
  }
  const limit = sized(65536, "user=u\x01auth=Bearer ", "\x01\x01");
  const server = new XOAuth2Server({ validate: () => ({ authenticationId: "u" }) });
  assert.equal((await server.next(limit)).done, true);
});

Deno.test("XOAUTH2: client and server round trips", async () => {
  const cases: XOAuth2ClientOptions[] = [
    { username: GOOGLE_USER, token: GOOGLE_TOKEN },
    { username: "Ünïcødé 用户@例え.jp", token: "EwBwA8l6BAAU-token~+/==" },
    { username: "🔑=,;", token: "t".repeat(60000) },
  ];
  for (const options of cases) {
    let seen: string | undefined;
    const server = new XOAuth2Server({
      validate: (
        token,
        request,
      ) => ((seen = token), { authenticationId: request.authorizationId! }),
    });
    const client = new XOAuth2Client(options);
    client.start();
    const challenge = (await server.next(undefined)).challenge!;
    assert.equal((await server.next(client.next(challenge))).done, true);
    assert.equal(seen, options.token);
    assert.deepEqual(server.outcome(), client.finish());
  }
  // A rejected token, end to end.
  const server = new XOAuth2Server(googleServer);
  const client = new XOAuth2Client({ username: GOOGLE_USER, token: "ya29.expired" });
  const step = await server.next(client.start());
  const serverSide = await assertRejects(
    () => server.next(client.next(step.challenge!)),
    "invalid-token",
  );
  assert.equal(client.serverError?.code, serverSide.code);
  assert.deepEqual(client.serverErrorDetails, {
    status: "401",
    schemes: "bearer",
    scope: "https://mail.google.com/",
  });
});

const context = { service: "imap", host: "imap.gmail.com", port: 993 };

Deno.test("XOAUTH2 descriptor: properties, registry, createClient", async () => {
  assert.equal(xoauth2Mechanism.name, "XOAUTH2");
  assert.equal(xoauth2Mechanism.credentialKind, "oauth");
  assert.deepEqual(
    xoauth2Mechanism.properties,
    new XOAuth2Client({ username: "u", token: "t" }).properties,
  );
  assert.equal(defaultRegistry.get("xoauth2"), xoauth2Mechanism);

  const pending = xoauth2Mechanism.createClient(
    { kind: "oauth", username: GOOGLE_USER, token: GOOGLE_TOKEN },
    context,
  );
  assert.ok(pending instanceof Promise);
  assert.equal(encodeBase64((await pending).start()!), GOOGLE_INITIAL);

  const asked: boolean[] = [];
  const token = (
    { refresh }: { refresh: boolean },
  ) => (asked.push(refresh), refresh ? "new" : "old");
  const old = await xoauth2Mechanism.createClient({ kind: "oauth", username: "u", token }, context);
  assert.equal(decode(old.start()!), "user=u\x01auth=Bearer old\x01\x01");
  const fresh = await xoauth2Mechanism.createClient(
    { kind: "oauth", username: "u", token },
    { ...context, refreshToken: true },
  );
  assert.equal(decode(fresh.start()!), "user=u\x01auth=Bearer new\x01\x01");
  assert.deepEqual(asked, [false, true]);

  const boom = new Error("offline");
  for (
    const [credentials, cause] of [
      [{ kind: "oauth", token: "t" }, undefined], // no username
      [{ kind: "oauth", username: "", token: "t" }, undefined],
      [{ username: "u", password: "p" }, undefined],
      [{ kind: "oauth", username: "u", token: () => Promise.reject(boom) }, boom],
    ] as [unknown, unknown][]
  ) {
    const error = await assertRejects(
      () => xoauth2Mechanism.createClient(credentials as never, context),
      "invalid-argument",
    );
    assert.equal(error.cause, cause);
  }
});

Deno.test("XOAUTH2 descriptor: createServer and redact", async () => {
  assertSaslError(() => xoauth2Mechanism.createServer({}, context), "invalid-argument");
  const server = xoauth2Mechanism.createServer({
    token: (token, request) =>
      token === GOOGLE_TOKEN
        ? { authenticationId: request.authorizationId! }
        : { error: { status: "401" } },
  }, context);
  assert.equal((await server.next(decodeBase64(GOOGLE_INITIAL))).done, true);
  assert.equal(server.outcome().authenticationId, GOOGLE_USER);

  const redact = (message: string) => xoauth2Mechanism.redact(text.encode(message), {});
  assert.equal(
    xoauth2Mechanism.redact(decodeBase64(GOOGLE_INITIAL), {}),
    "user=someuser@example.com\x01auth=Bearer ***\x01\x01",
  );
  assert.equal(redact("auth=Bearer t\x01user=u\x01\x01"), "auth=Bearer ***\x01user=u\x01\x01");
  assert.equal(redact("user=u\x01auth=t\x01\x01"), "user=u\x01auth=***\x01\x01");
  assert.equal(redact("ya29.secret"), "***");
  assert.equal(xoauth2Mechanism.redact(new Uint8Array(0), {}), "(empty)"); // the error answer
});

function* mutations(valid: Uint8Array, count: number, seed: number): Generator<Uint8Array> {
  let state = seed;
  const random = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const specials = [0x00, 0x01, 0x3d, 0x20, 0x0a, 0x22, 0x7b, 0x7d, 0xff, 0xc3];
  for (let i = 0; i < count; i++) {
    const bytes = [...valid];
    for (let edits = 1 + random(4); edits > 0; edits--) {
      const at = random(bytes.length + 1);
      const op = random(4);
      if (op === 0) bytes[at] = random(256);
      else if (op === 1) bytes.splice(at, 0, specials[random(specials.length)]);
      else if (op === 2) bytes.splice(at, 1 + random(3));
      else bytes.length = at;
    }
    yield new Uint8Array(bytes);
  }
}

Deno.test("XOAUTH2: mutated messages give a verdict or a SaslError, never anything else", async () => {
  for (const input of mutations(decodeBase64(GOOGLE_INITIAL), 3000, 0x27d4eb2f)) {
    const server = new XOAuth2Server({ ...googleServer, authorize: () => true });
    try {
      await server.next(input);
    } catch (error) {
      assert.ok(error instanceof SaslError, `${error} for ${JSON.stringify(decode(input))}`);
    }
  }
  for (const input of mutations(decodeBase64(GOOGLE_ERROR), 3000, 0x165667b1)) {
    const client = new XOAuth2Client({ username: "u", token: "t" });
    client.start();
    try {
      client.next(input);
    } catch (error) {
      assert.ok(error instanceof SaslError, `${error}`);
    }
  }
});
