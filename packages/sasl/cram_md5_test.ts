import assert from "node:assert/strict";
import { CramMd5Client, CramMd5Server, type CramMd5ServerOptions } from "./cram_md5.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";
import { hex } from "./_bytes.ts";
import { hmacMd5 } from "./_hash.ts";

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

// RFC 2195 §2.
const PASSWORD = "tanstaaftanstaaf";
const CHALLENGE = "<1896.697170952@postoffice.reston.mci.net>";
const RESPONSE = "tim b913a602c7eda7a495b4e6e7334d3890";

const serverOptions: CramMd5ServerOptions = {
  password: (user) => (user === "tim" ? PASSWORD : undefined),
  challenge: () => CHALLENGE,
};

Deno.test("CRAM-MD5 client: RFC 2195 §2 vector", () => {
  const client = new CramMd5Client({ username: "tim", password: PASSWORD });
  assert.equal(client.name, "CRAM-MD5");
  assert.equal(client.start(), undefined);
  assert.equal(decode(client.next(text.encode(CHALLENGE))), RESPONSE);
  assert.deepEqual(client.finish(), {
    mechanism: "CRAM-MD5",
    authenticationId: "tim",
    qop: "auth",
  });
});

Deno.test("CRAM-MD5 client: properties", () => {
  assert.deepEqual(new CramMd5Client({ username: "u", password: "p" }).properties, {
    sendsCleartextPassword: false,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: false,
    channelBinding: false,
    carriesAuthorizationId: false,
  });
});

Deno.test("CRAM-MD5 client: lenient on what is inside the brackets", () => {
  for (
    const challenge of ["<x>", "<12345.67890@[127.0.0.1]>", `<${"a".repeat(2046)}>`, "< a b >"]
  ) {
    const client = new CramMd5Client({ username: "tim", password: PASSWORD });
    client.start();
    assert.match(decode(client.next(text.encode(challenge))), /^tim [0-9a-f]{32}$/);
  }
});

Deno.test("CRAM-MD5 client: state machine", () => {
  const fresh = () => new CramMd5Client({ username: "tim", password: PASSWORD });
  assertSaslError(() => fresh().next(text.encode(CHALLENGE)), "invalid-state");
  assertSaslError(() => fresh().finish(), "invalid-state");

  const started = fresh();
  started.start();
  assertSaslError(() => started.start(), "invalid-state");
  assertSaslError(() => started.finish(), "invalid-state");
  started.next(text.encode(CHALLENGE));
  assertSaslError(() => started.next(text.encode(CHALLENGE)), "invalid-state");
  started.finish();
  assertSaslError(() => started.finish(), "invalid-state");

  const data = fresh();
  data.start();
  data.next(text.encode(CHALLENGE));
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");

  const bad = fresh();
  bad.start();
  assertSaslError(() => bad.next(new Uint8Array(0)), "malformed-challenge");
  assertSaslError(() => bad.next(text.encode(CHALLENGE)), "invalid-state");
});

Deno.test("CRAM-MD5 client: invalid options", () => {
  assertSaslError(
    () => new CramMd5Client({ username: "", password: "s3cr3t" }),
    "invalid-argument",
  );
  assertSaslError(() => new CramMd5Client({ username: "u", password: "" }), "invalid-argument");
});

/** Challenges a CRAM-MD5 client must reject, and the exact code each must produce. */
export const CRAM_MD5_CLIENT_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  { name: "empty challenge", input: new Uint8Array(0), code: "malformed-challenge" },
  { name: "no brackets", input: text.encode("1896.697170952@host"), code: "malformed-challenge" },
  {
    name: "no closing bracket",
    input: text.encode("<1896.697170952@host"),
    code: "malformed-challenge",
  },
  {
    name: "no opening bracket",
    input: text.encode("1896.697170952@host>"),
    code: "malformed-challenge",
  },
  { name: "only brackets", input: text.encode("<>"), code: "malformed-challenge" },
  { name: "single bracket", input: text.encode("<"), code: "malformed-challenge" },
  { name: "trailing CRLF", input: text.encode(`${CHALLENGE}\r\n`), code: "malformed-challenge" },
  { name: "NUL inside", input: text.encode("<1896\0@host>"), code: "malformed-challenge" },
  { name: "tab inside", input: text.encode("<1896\t@host>"), code: "malformed-challenge" },
  { name: "DEL inside", input: text.encode("<1896\x7f@host>"), code: "malformed-challenge" },
  { name: "non-ASCII inside", input: text.encode("<1896@hóst>"), code: "malformed-challenge" },
  { name: "2049 octets", input: text.encode(`<${"a".repeat(2047)}>`), code: "message-too-long" },
];

Deno.test("CRAM-MD5 client: malformed challenges", async (t) => {
  for (const { name, input, code } of CRAM_MD5_CLIENT_MALFORMED) {
    await t.step(name, () => {
      const client = new CramMd5Client({ username: "tim", password: PASSWORD });
      client.start();
      assertSaslError(() => client.next(input), code, PASSWORD);
      assertSaslError(() => client.finish(), "invalid-state");
    });
  }
});

Deno.test("CRAM-MD5 server: RFC 2195 §2 vector", () => {
  const server = new CramMd5Server(serverOptions);
  assert.equal(server.name, "CRAM-MD5");
  const first = server.next(undefined);
  assert.equal(first.done, false);
  assert.equal(decode(first.challenge), CHALLENGE);
  assert.deepEqual(server.next(text.encode(RESPONSE)), { done: true });
  assert.deepEqual(server.outcome(), {
    mechanism: "CRAM-MD5",
    authenticationId: "tim",
    qop: "auth",
  });
});

Deno.test("CRAM-MD5 server: accepts an upper-case digest", () => {
  const server = new CramMd5Server(serverOptions);
  server.next(undefined);
  assert.equal(server.next(text.encode(RESPONSE.toUpperCase().replace("TIM", "tim"))).done, true);
});

Deno.test("CRAM-MD5 server: default challenge is <random.timestamp@host> and fresh", () => {
  const challenges = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const challenge = decode(new CramMd5Server({ password: () => "x" }).next(undefined).challenge);
    assert.match(challenge, /^<\d+\.\d+@localhost>$/);
    challenges.add(challenge);
  }
  assert.equal(challenges.size, 20);
  const hosted = new CramMd5Server({ password: () => "x", host: "mail.example.com" });
  assert.match(decode(hosted.next(undefined).challenge), /^<\d+\.\d+@mail\.example\.com>$/);
});

Deno.test("CRAM-MD5 server: invalid options", () => {
  for (const host of ["", "mail example", "mail>", "<mail", "mäil"]) {
    assertSaslError(() => new CramMd5Server({ password: () => "x", host }), "invalid-argument");
  }
  for (const challenge of ["", "no-brackets", "<with\nnewline>"]) {
    const server = new CramMd5Server({ password: () => "x", challenge: () => challenge });
    assertSaslError(() => server.next(undefined), "invalid-argument");
  }
});

Deno.test("CRAM-MD5 server: state machine", () => {
  const server = new CramMd5Server(serverOptions);
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(undefined);
  assertSaslError(() => server.next(undefined), "invalid-state");
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(text.encode(RESPONSE));
  assertSaslError(() => server.next(text.encode(RESPONSE)), "invalid-state");
  assert.equal(server.outcome().authenticationId, "tim");

  const initial = new CramMd5Server(serverOptions);
  assertSaslError(() => initial.next(text.encode(RESPONSE)), "malformed-response");
  assertSaslError(() => initial.next(undefined), "invalid-state");

  const failed = new CramMd5Server(serverOptions);
  failed.next(undefined);
  assertSaslError(
    () => failed.next(text.encode("tim 00000000000000000000000000000000")),
    "authentication-failed",
  );
  assertSaslError(() => failed.next(text.encode(RESPONSE)), "invalid-state");
  assertSaslError(() => failed.outcome(), "invalid-state");
});

Deno.test("CRAM-MD5 server: an unknown user is looked up once and fails", () => {
  const looked: string[] = [];
  const server = new CramMd5Server({
    password: (user) => {
      looked.push(user);
      return undefined;
    },
    challenge: () => CHALLENGE,
  });
  server.next(undefined);
  // The server keys the HMAC of an unknown user with the empty string; that must not let in
  // a client that guessed so.
  const emptyKeyDigest = hex(hmacMd5(new Uint8Array(0), text.encode(CHALLENGE)));
  assertSaslError(() => server.next(text.encode(`bob ${emptyKeyDigest}`)), "authentication-failed");
  assert.deepEqual(looked, ["bob"]);
});

/** Client responses a CRAM-MD5 server must reject, and the exact code each must produce. */
export const CRAM_MD5_SERVER_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  { name: "empty response", input: new Uint8Array(0), code: "malformed-response" },
  {
    name: "no space",
    input: text.encode("timb913a602c7eda7a495b4e6e7334d3890"),
    code: "malformed-response",
  },
  {
    name: "empty username",
    input: text.encode(" b913a602c7eda7a495b4e6e7334d3890"),
    code: "malformed-response",
  },
  { name: "digest missing", input: text.encode("tim "), code: "malformed-response" },
  {
    name: "trailing space",
    input: text.encode(`${RESPONSE} `),
    code: "malformed-response",
  },
  {
    name: "non-hex digest",
    input: text.encode("tim b913a602c7eda7a495b4e6e7334d389g"),
    code: "malformed-response",
  },
  {
    name: "31-digit digest",
    input: text.encode("tim b913a602c7eda7a495b4e6e7334d389"),
    code: "malformed-response",
  },
  {
    name: "33-digit digest",
    input: text.encode("tim b913a602c7eda7a495b4e6e7334d38900"),
    code: "malformed-response",
  },
  {
    name: "base64 digest",
    input: text.encode("tim uROmAsft6nSVtObnM0ONkA=="),
    code: "malformed-response",
  },
  {
    name: "invalid UTF-8 username",
    input: new Uint8Array([0x74, 0xff, 0x20, ...text.encode("b913a602c7eda7a495b4e6e7334d3890")]),
    code: "malformed-response",
  },
  {
    name: "1025-octet response",
    input: text.encode(`${"u".repeat(992)} b913a602c7eda7a495b4e6e7334d3890`),
    code: "message-too-long",
  },
  {
    name: "wrong digest",
    input: text.encode("tim b913a602c7eda7a495b4e6e7334d3891"),
    code: "authentication-failed",
  },
  {
    name: "unknown user",
    input: text.encode("bob b913a602c7eda7a495b4e6e7334d3890"),
    code: "authentication-failed",
  },
  {
    name: "username differs in case",
    input: text.encode("Tim b913a602c7eda7a495b4e6e7334d3890"),
    code: "authentication-failed",
  },
];

Deno.test("CRAM-MD5 server: malformed responses", async (t) => {
  for (const { name, input, code } of CRAM_MD5_SERVER_MALFORMED) {
    await t.step(name, () => {
      const server = new CramMd5Server(serverOptions);
      server.next(undefined);
      assertSaslError(() => server.next(input), code, "b913a602");
      assertSaslError(() => server.outcome(), "invalid-state");
    });
  }
});

Deno.test("CRAM-MD5: client and server round trips", () => {
  for (
    const [username, password] of [
      ["tim", PASSWORD],
      ["user with spaces", "pässwörd 🔑"],
      ["u", "k".repeat(200)], // longer than the HMAC block: the key is hashed first
    ]
  ) {
    const server = new CramMd5Server({
      password: (user) => (user === username ? password : undefined),
      host: "mail.example.com",
    });
    const client = new CramMd5Client({ username, password });
    assert.equal(client.start(), undefined);
    const challenge = server.next(undefined).challenge!;
    assert.equal(server.next(client.next(challenge)).done, true);
    assert.deepEqual(server.outcome(), client.finish());
  }
});
