// The SCRAM server against malformed and hostile client messages: typed errors at once for a
// bad client-first message, SCRAM's e= then a typed error for a bad client-final one; unknown
// users that look like known ones; nonce freshness and replays; authorization.
import assert from "node:assert/strict";
import { decodeBase64 } from "../base64.ts";
import { SaslError } from "../error.ts";
import {
  deriveScramCredentials,
  ScramClient,
  ScramServer,
  ScramServerError,
  type ScramServerOptions,
} from "./mod.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (text: string) => te.encode(text);

// RFC 5802 §5 (SCRAM-SHA-1)
const CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL";
const SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j";
const NONCE = CLIENT_NONCE + SERVER_NONCE;
const CLIENT_FIRST = `n,,n=user,r=${CLIENT_NONCE}`;
const PROOF = "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
const CLIENT_FINAL = `c=biws,r=${NONCE},p=${PROOF}`;
const stored = await deriveScramCredentials("pencil", {
  hash: "SHA-1",
  salt: decodeBase64("QSXCR+Q6sek8bf92"),
  iterations: 4096,
});

function server(extra: Partial<ScramServerOptions> = {}): ScramServer {
  return new ScramServer({
    hash: "SHA-1",
    credentials: (name) => name === "user" ? stored : undefined,
    nonce: SERVER_NONCE,
    ...extra,
  });
}

function isCode(code: string, serverError?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof SaslError, `not a SaslError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (serverError !== undefined) {
      assert.ok(e instanceof ScramServerError);
      assert.equal(e.serverError, serverError);
    }
    return true;
  };
}

// [what, client-first message, code]
const CLIENT_FIRST_CASES: readonly [string, Uint8Array, string][] = [
  ["empty", bytes(""), "malformed-response"],
  ["no GS2 header", bytes("n=user,r=abc"), "malformed-response"],
  ["truncated GS2 header", bytes("n,"), "malformed-response"],
  ["truncated after the header", bytes("n,,"), "malformed-response"],
  ["truncated inside n=", bytes("n,,n="), "malformed-response"],
  ["oversize", bytes(`${CLIENT_FIRST},x=${"a".repeat(4096)}`), "message-too-long"],
  [
    "not UTF-8",
    new Uint8Array([...bytes("n,,n=us"), 0xc0, 0x80, ...bytes(",r=abc")]),
    "malformed-response",
  ],
  ["NUL", bytes("n,,n=us\0er,r=abc"), "malformed-response"],
  ["unknown flag", bytes("x,,n=user,r=abc"), "malformed-response"],
  ["p= without a name", bytes("p=,,n=user,r=abc"), "malformed-response"],
  ["p= with a bad name", bytes("p=tls_unique,,n=user,r=abc"), "malformed-response"],
  ["authzid without a=", bytes("n,b=admin,n=user,r=abc"), "malformed-response"],
  ["empty a=", bytes("n,a=,n=user,r=abc"), "malformed-response"],
  ["bad escape in a=", bytes("n,a=ad=2cmin,n=user,r=abc"), "malformed-response"],
  ["bad escape in n=", bytes("n,,n=us=3,r=abc"), "malformed-response"],
  ["order r, n", bytes("n,,r=abc,n=user"), "malformed-response"],
  ["missing r=", bytes("n,,n=user"), "malformed-response"],
  ["missing n=", bytes("n,,r=abc"), "malformed-response"],
  ["repeated r=", bytes("n,,n=user,r=abc,r=abd"), "malformed-response"],
  ["repeated n=", bytes("n,,n=user,n=user,r=abc"), "malformed-response"],
  ["mandatory extension", bytes("n,,m=ext,n=user,r=abc"), "malformed-response"],
  ["m= later", bytes("n,,n=user,r=abc,m=ext"), "malformed-response"],
  ["nonce with a space", bytes("n,,n=user,r=a c"), "malformed-response"],
  ["nonce with DEL", bytes("n,,n=user,r=a\x7f"), "malformed-response"],
];

for (const [what, message, code] of CLIENT_FIRST_CASES) {
  Deno.test(`SCRAM server: client-first ${what} -> ${code}`, async () => {
    const s = server();
    await assert.rejects(() => s.next(message), isCode(code));
    await assert.rejects(() => s.next(bytes(CLIENT_FIRST)), isCode("invalid-state"));
  });
}

Deno.test("SCRAM server: unknown extensions in client-first are ignored", async () => {
  const s = server();
  const first = await s.next(bytes(`${CLIENT_FIRST},x=1`));
  assert.equal(td.decode(first.challenge), `r=${NONCE},s=QSXCR+Q6sek8bf92,i=4096`);
});

// [what, client-final message, e= value sent, code thrown afterwards]
const CLIENT_FINAL_CASES: readonly [string, Uint8Array, string, string][] = [
  [
    "not UTF-8",
    new Uint8Array([...bytes(`c=biws,r=${NONCE},p=`), 0xff]),
    "invalid-encoding",
    "malformed-response",
  ],
  ["empty", bytes(""), "invalid-encoding", "malformed-response"],
  ["missing p=", bytes(`c=biws,r=${NONCE}`), "invalid-encoding", "malformed-response"],
  ["truncated p=", bytes(`c=biws,r=${NONCE},p=v0X8v`), "invalid-encoding", "malformed-response"],
  ["truncated to c=", bytes("c=biws"), "invalid-encoding", "malformed-response"],
  [
    "order r, c, p",
    bytes(`r=${NONCE},c=biws,p=${PROOF}`),
    "invalid-encoding",
    "malformed-response",
  ],
  [
    "p= not last",
    bytes(`c=biws,r=${NONCE},p=${PROOF},x=1`),
    "invalid-encoding",
    "malformed-response",
  ],
  [
    "repeated c=",
    bytes(`c=biws,c=biws,r=${NONCE},p=${PROOF}`),
    "invalid-encoding",
    "malformed-response",
  ],
  ["bad base64 c=", bytes(`c=biw,r=${NONCE},p=${PROOF}`), "invalid-encoding", "malformed-response"],
  [
    "bad base64 p=",
    bytes(`c=biws,r=${NONCE},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts`),
    "invalid-encoding",
    "malformed-response",
  ],
  [
    "mandatory extension",
    bytes(`c=biws,r=${NONCE},m=1,p=${PROOF}`),
    "extensions-not-supported",
    "malformed-response",
  ],
  [
    "c= for y",
    bytes(`c=eSws,r=${NONCE},p=${PROOF}`),
    "channel-bindings-dont-match",
    "channel-binding-mismatch",
  ],
  [
    "c= with binding data",
    bytes(`c=biwsAAAA,r=${NONCE},p=${PROOF}`),
    "channel-bindings-dont-match",
    "channel-binding-mismatch",
  ],
  ["wrong nonce", bytes(`c=biws,r=${NONCE}x,p=${PROOF}`), "other-error", "replay"],
  ["client nonce only", bytes(`c=biws,r=${CLIENT_NONCE},p=${PROOF}`), "other-error", "replay"],
  [
    "wrong proof",
    bytes(`c=biws,r=${NONCE},p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=`),
    "invalid-proof",
    "authentication-failed",
  ],
  [
    "short proof",
    bytes(`c=biws,r=${NONCE},p=v0X8v3Bz2T0CJGbJ`),
    "invalid-proof",
    "authentication-failed",
  ],
  [
    "long proof",
    bytes(`c=biws,r=${NONCE},p=${PROOF.slice(0, -1)}AAAAA`),
    "invalid-proof",
    "authentication-failed",
  ],
];

for (const [what, message, serverError, code] of CLIENT_FINAL_CASES) {
  Deno.test(`SCRAM server: client-final ${what} -> e=${serverError}, then ${code}`, async () => {
    const s = server();
    await s.next(bytes(CLIENT_FIRST));
    const step = await s.next(message);
    assert.deepEqual(step, { challenge: bytes(`e=${serverError}`), done: false });
    assert.throws(() => s.outcome(), isCode(code, serverError));
    // outcome() ended the exchange; a later call is a state error.
    await assert.rejects(() => s.next(new Uint8Array(0)), isCode("invalid-state"));

    const t = server();
    await t.next(bytes(CLIENT_FIRST));
    await t.next(message);
    await assert.rejects(() => t.next(new Uint8Array(0)), isCode(code, serverError));
  });
}

Deno.test("SCRAM server: an oversize client-final message fails at once", async () => {
  const s = server();
  await s.next(bytes(CLIENT_FIRST));
  await assert.rejects(
    () => s.next(bytes(`${CLIENT_FINAL.slice(0, -30)}x=${"a".repeat(4096)},p=${PROOF}`)),
    isCode("message-too-long"),
  );
});

Deno.test("SCRAM server: an unknown user gets a stable fake salt and fails like a wrong password", async () => {
  const secret = new Uint8Array(32).fill(5);
  const firstFor = async (name: string, opts: Partial<ScramServerOptions> = {}) => {
    const s = server({ secret, nonce: undefined, ...opts });
    const step = await s.next(bytes(`n,,n=${name},r=${CLIENT_NONCE}`));
    return { s, text: td.decode(step.challenge) };
  };
  const known = await firstFor("user");
  const a1 = await firstFor("nobody");
  const a2 = await firstFor("nobody");
  const b = await firstFor("someone");
  const salt = (text: string) => text.split(",")[1];
  assert.equal(salt(a1.text), salt(a2.text), "the same unknown user gets the same salt");
  assert.notEqual(salt(a1.text), salt(b.text));
  const real = await deriveScramCredentials("x", { hash: "SHA-1" });
  assert.equal(decodeBase64(salt(a1.text).slice(2)).length, real.salt.length, "a real salt's size");
  assert.equal(known.text.split(",").length, a1.text.split(",").length);
  assert.ok(a1.text.endsWith(",i=4096"));
  const other = await firstFor("nobody", { secret: new Uint8Array(32).fill(6) });
  assert.notEqual(salt(other.text), salt(a1.text), "the salt depends on the secret");
  const custom = await firstFor("nobody", { unknownUserIterations: 15000 });
  assert.ok(custom.text.endsWith(",i=15000"));

  // The client cannot tell: it answers, and gets invalid-proof like a wrong password.
  const client = new ScramClient({ hash: "SHA-1", username: "nobody", password: "x" });
  const s = server({ secret, nonce: undefined });
  const step = await s.next(await client.next((await s.next(client.start())).challenge!));
  assert.equal(td.decode(step.challenge), "e=invalid-proof");
  assert.throws(() => s.outcome(), isCode("authentication-failed", "invalid-proof"));
});

Deno.test("SCRAM server: a wrong password is e=invalid-proof", async () => {
  const client = new ScramClient({ hash: "SHA-1", username: "user", password: "pencil2" });
  const s = server({ nonce: undefined });
  const step = await s.next(await client.next((await s.next(client.start())).challenge!));
  assert.equal(td.decode(step.challenge), "e=invalid-proof");
  await assert.rejects(() => client.next(step.challenge!), isCode("authentication-failed"));
});

Deno.test("SCRAM server: nonces are fresh, and a replayed client-final is refused", async () => {
  const client = new ScramClient({ hash: "SHA-1", username: "user", password: "pencil" });
  const clientFirst = client.start();
  const one = new ScramServer({ hash: "SHA-1", credentials: () => stored });
  const firstOne = await one.next(clientFirst);
  const clientFinal = await client.next(firstOne.challenge!);
  assert.equal((await one.next(clientFinal)).done, true);

  const two = new ScramServer({ hash: "SHA-1", credentials: () => stored });
  const firstTwo = await two.next(clientFirst);
  assert.notEqual(td.decode(firstTwo.challenge), td.decode(firstOne.challenge));
  const step = await two.next(clientFinal); // the recorded answer to the first exchange
  assert.equal(td.decode(step.challenge), "e=other-error");
  assert.throws(() => two.outcome(), isCode("replay"));
});

Deno.test("SCRAM server: authorization ids", async () => {
  const run = async (authzid: string, authorize?: ScramServerOptions["authorize"]) => {
    const client = new ScramClient({
      hash: "SHA-1",
      username: "user",
      password: "pencil",
      authorizationId: authzid,
    });
    const s = server({ nonce: undefined, authorize });
    const step = await s.next(await client.next((await s.next(client.start())).challenge!));
    return { s, step };
  };
  const self = await run("user");
  assert.equal(self.step.done, true, "one may act as oneself");
  assert.equal(self.s.outcome().authorizationId, "user");

  const refused = await run("admin");
  assert.equal(td.decode(refused.step.challenge), "e=other-error");
  assert.throws(() => refused.s.outcome(), isCode("authorization-failed"));

  const allowed = await run(
    "admin",
    (user, as) => Promise.resolve(user === "user" && as === "admin"),
  );
  assert.equal(allowed.step.done, true);
  assert.deepEqual(allowed.s.outcome(), {
    mechanism: "SCRAM-SHA-1",
    authenticationId: "user",
    authorizationId: "admin",
    qop: "auth",
  });
});

Deno.test("SCRAM server: a username SASLprep rejects is e=invalid-username-encoding", async () => {
  const s = server();
  await s.next(bytes(`n,,n=us\u0007er,r=${CLIENT_NONCE}`));
  const step = await s.next(bytes(`c=biws,r=${NONCE},p=${PROOF}`));
  assert.equal(td.decode(step.challenge), "e=invalid-username-encoding");
  assert.throws(() => s.outcome(), isCode("malformed-response"));
});

Deno.test("SCRAM server: stored credentials of the wrong shape are invalid-argument", async () => {
  for (
    const bad of [
      { ...stored, storedKey: new Uint8Array(32) }, // SHA-256 length for SHA-1
      { ...stored, salt: new Uint8Array(0) },
      { ...stored, iterations: 0 },
    ]
  ) {
    const s = server({ credentials: () => bad });
    await assert.rejects(() => s.next(bytes(CLIENT_FIRST)), isCode("invalid-argument"));
  }
});

Deno.test("SCRAM server: state errors and the empty first challenge", async () => {
  const s = server();
  assert.deepEqual(await s.next(undefined), { challenge: new Uint8Array(0), done: false });
  await assert.rejects(() => s.next(undefined), isCode("invalid-state"));
  assert.throws(() => s.outcome(), isCode("invalid-state"));
  const busy = server({ credentials: () => new Promise((r) => setTimeout(() => r(stored), 10)) });
  const pending = busy.next(bytes(CLIENT_FIRST));
  await assert.rejects(() => busy.next(bytes(CLIENT_FINAL)), isCode("invalid-state"));
  await pending;
  assert.equal((await busy.next(bytes(CLIENT_FINAL))).done, true);
  await assert.rejects(() => busy.next(bytes(CLIENT_FINAL)), isCode("invalid-state"));
});

Deno.test("deriveScramCredentials: option checks", async () => {
  const cases: [string, Promise<unknown>][] = [
    ["empty password", deriveScramCredentials("", { hash: "SHA-256" })],
    ["prohibited password", deriveScramCredentials("a\u0007", { hash: "SHA-256" })],
    [
      "unassigned code point (stored string)",
      deriveScramCredentials("\u0221", { hash: "SHA-256" }),
    ],
    ["empty salt", deriveScramCredentials("p", { hash: "SHA-256", salt: new Uint8Array(0) })],
    ["zero iterations", deriveScramCredentials("p", { hash: "SHA-256", iterations: 0 })],
    ["unknown hash", deriveScramCredentials("p", { hash: "MD5" as never })],
  ];
  for (const [what, promise] of cases) {
    await assert.rejects(() => promise, isCode("invalid-argument"), what);
  }
  const made = await deriveScramCredentials("p", { hash: "SHA-512" });
  assert.equal(made.salt.length, 16);
  assert.equal(made.iterations, 4096);
  assert.equal(made.serverKey.length, 64);
});
