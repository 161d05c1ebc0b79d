// The SCRAM client against malformed and hostile server messages, its option checks, SASLprep
// and escaping, verification of the server, and the salted-password cache.
import assert from "node:assert/strict";
import { SaslError } from "../error.ts";
import {
  deriveScramCredentials,
  InMemoryScramCache,
  type ScramCache,
  type ScramCachedKeys,
  ScramClient,
  type ScramClientOptions,
  ScramServer,
  ScramServerError,
} from "./mod.ts";
import { loadSaslprep } from "../saslprep.ts";

const te = new TextEncoder();
const td = new TextDecoder();

// RFC 7677 §3
const NONCE = "rOprNGfwEbeRWgbNEkqO";
const FULL_NONCE = `${NONCE}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0`;
const SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
const SERVER_FIRST = `r=${FULL_NONCE},s=${SALT},i=4096`;
const SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

function client(extra: Partial<ScramClientOptions> = {}): ScramClient {
  const c = new ScramClient({
    hash: "SHA-256",
    username: "user",
    password: "pencil",
    nonce: NONCE,
    ...extra,
  });
  c.start();
  return c;
}

async function afterServerFirst(): Promise<ScramClient> {
  const c = client();
  await c.next(te.encode(SERVER_FIRST));
  return c;
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

const bytes = (text: string) => te.encode(text);

// [what, server-first message, code]
const SERVER_FIRST_CASES: readonly [string, Uint8Array, string][] = [
  ["empty", bytes(""), "malformed-challenge"],
  ["truncated before i=", bytes(`r=${FULL_NONCE},s=${SALT}`), "malformed-challenge"],
  ["truncated inside s=", bytes(`r=${FULL_NONCE},s=W22Z`), "malformed-challenge"],
  ["truncated to r=", bytes(`r=${FULL_NONCE}`), "malformed-challenge"],
  ["trailing comma", bytes(`${SERVER_FIRST},`), "malformed-challenge"],
  ["oversize (4097 octets)", bytes(`${SERVER_FIRST},x=${"a".repeat(4097)}`), "message-too-long"],
  [
    "wrong nonce prefix",
    bytes(`r=rOprNGfwEbeRWgbNEkqX123,s=${SALT},i=4096`),
    "malformed-challenge",
  ],
  ["nonce not longer", bytes(`r=${NONCE},s=${SALT},i=4096`), "malformed-challenge"],
  ["nonce with a space", bytes(`r=${NONCE} x,s=${SALT},i=4096`), "malformed-challenge"],
  ["nonce non-ASCII", bytes(`r=${NONCE}\u00e9,s=${SALT},i=4096`), "malformed-challenge"],
  ["bad base64 salt", bytes(`r=${FULL_NONCE},s=W22Z*J0S,i=4096`), "malformed-challenge"],
  [
    "unpadded salt",
    bytes(`r=${FULL_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096`),
    "malformed-challenge",
  ],
  ["empty salt", bytes(`r=${FULL_NONCE},s=,i=4096`), "malformed-challenge"],
  [
    "not UTF-8",
    new Uint8Array([...bytes(`r=${FULL_NONCE}`), 0xff, ...bytes(`,s=${SALT},i=4096`)]),
    "malformed-challenge",
  ],
  ["NUL", bytes(`r=${FULL_NONCE},s=${SALT},i=4096\0`), "malformed-challenge"],
  ["order s, r, i", bytes(`s=${SALT},r=${FULL_NONCE},i=4096`), "malformed-challenge"],
  ["order r, i, s", bytes(`r=${FULL_NONCE},i=4096,s=${SALT}`), "malformed-challenge"],
  ["missing r=", bytes(`s=${SALT},i=4096`), "malformed-challenge"],
  ["missing s=", bytes(`r=${FULL_NONCE},i=4096`), "malformed-challenge"],
  ["repeated r=", bytes(`r=${FULL_NONCE},r=${FULL_NONCE},s=${SALT},i=4096`), "malformed-challenge"],
  ["repeated i=", bytes(`${SERVER_FIRST},i=4096`), "malformed-challenge"],
  ["repeated extension", bytes(`${SERVER_FIRST},x=1,x=2`), "malformed-challenge"],
  ["mandatory extension m=", bytes(`m=foo,${SERVER_FIRST}`), "malformed-challenge"],
  ["m= after i=", bytes(`${SERVER_FIRST},m=foo`), "malformed-challenge"],
  [
    "attribute name of two letters",
    bytes(`r=${FULL_NONCE},ss=${SALT},i=4096`),
    "malformed-challenge",
  ],
  ["attribute name a digit", bytes(`${SERVER_FIRST},1=x`), "malformed-challenge"],
  ["i=0", bytes(`r=${FULL_NONCE},s=${SALT},i=0`), "malformed-challenge"],
  ["i=04096", bytes(`r=${FULL_NONCE},s=${SALT},i=04096`), "malformed-challenge"],
  ["i=-4096", bytes(`r=${FULL_NONCE},s=${SALT},i=-4096`), "malformed-challenge"],
  ["i=4e3", bytes(`r=${FULL_NONCE},s=${SALT},i=4e3`), "malformed-challenge"],
  ["i=four", bytes(`r=${FULL_NONCE},s=${SALT},i=four`), "malformed-challenge"],
  ["i= 4096", bytes(`r=${FULL_NONCE},s=${SALT},i= 4096`), "malformed-challenge"],
  [
    "i=4095 (below the minimum)",
    bytes(`r=${FULL_NONCE},s=${SALT},i=4095`),
    "iteration-count-rejected",
  ],
  [
    "i=65537 (above the maximum)",
    bytes(`r=${FULL_NONCE},s=${SALT},i=65537`),
    "iteration-count-rejected",
  ],
  ["i=2^31", bytes(`r=${FULL_NONCE},s=${SALT},i=2147483648`), "iteration-count-rejected"],
  [
    "i of 40 digits",
    bytes(`r=${FULL_NONCE},s=${SALT},i=${"9".repeat(40)}`),
    "iteration-count-rejected",
  ],
  ["e= instead of server-first", bytes("e=other-error"), "server-rejected"],
];

for (const [what, message, code] of SERVER_FIRST_CASES) {
  Deno.test(`SCRAM client: server-first ${what} -> ${code}`, async () => {
    const c = client();
    const started = performance.now();
    await assert.rejects(() => c.next(message), isCode(code));
    // The range check comes before PBKDF2: a huge count costs nothing.
    assert.ok(performance.now() - started < 1000, "rejected quickly");
    // A failed exchange stays failed.
    await assert.rejects(() => c.next(te.encode(SERVER_FIRST)), isCode("invalid-state"));
  });
}

Deno.test("SCRAM client: unknown optional extensions are ignored", async () => {
  const c = client();
  const final = await c.next(te.encode(`${SERVER_FIRST},x=whatever,y=1`));
  // The AuthMessage includes the whole server-first message, so the proof differs from RFC's.
  assert.ok(td.decode(final).startsWith(`c=biws,r=${FULL_NONCE},p=`));
});

Deno.test("SCRAM client: the iteration range is configurable", async () => {
  const low = client({ minIterations: 1, maxIterations: 10 });
  await assert.rejects(() => low.next(te.encode(SERVER_FIRST)), isCode("iteration-count-rejected"));
  const wide = client({ minIterations: 4096, maxIterations: 4096 });
  await wide.next(te.encode(SERVER_FIRST));
  for (const [min, max] of [[0, 10], [10, 5], [1.5, 10], [1, Infinity]]) {
    assert.throws(
      () => client({ minIterations: min, maxIterations: max }),
      isCode("invalid-argument"),
    );
  }
});

// [what, server-final message, code, e= value]
const SERVER_FINAL_CASES: readonly [string, Uint8Array, string, string?][] = [
  [
    "wrong v=",
    bytes("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    "server-verification-failed",
  ],
  [
    "short v=",
    bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A=="),
    "server-verification-failed",
  ],
  ["v= bad base64", bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4"), "malformed-challenge"],
  ["v= repeated", bytes(`${SERVER_FINAL},${SERVER_FINAL}`), "malformed-challenge"],
  ["no v=", bytes("x=1"), "malformed-challenge"],
  ["oversize", bytes(`${SERVER_FINAL},x=${"a".repeat(4096)}`), "message-too-long"],
  ["not UTF-8", new Uint8Array([0x76, 0x3d, 0xc3, 0x28]), "malformed-challenge"],
  ["m= extension", bytes(`${SERVER_FINAL},m=1`), "malformed-challenge"],
  ["e=invalid-proof", bytes("e=invalid-proof"), "authentication-failed", "invalid-proof"],
  ["e=unknown-user", bytes("e=unknown-user"), "authentication-failed", "unknown-user"],
  [
    "e=channel-bindings-dont-match",
    bytes("e=channel-bindings-dont-match"),
    "channel-binding-mismatch",
    "channel-bindings-dont-match",
  ],
  [
    "e=unsupported-channel-binding-type",
    bytes("e=unsupported-channel-binding-type"),
    "channel-binding-mismatch",
    "unsupported-channel-binding-type",
  ],
  [
    "e=channel-binding-not-supported",
    bytes("e=channel-binding-not-supported"),
    "channel-binding-mismatch",
    "channel-binding-not-supported",
  ],
  [
    "e=server-does-support-channel-binding",
    bytes("e=server-does-support-channel-binding"),
    "channel-binding-downgrade",
    "server-does-support-channel-binding",
  ],
  ["e=invalid-encoding", bytes("e=invalid-encoding"), "server-rejected", "invalid-encoding"],
  [
    "e=extensions-not-supported",
    bytes("e=extensions-not-supported"),
    "server-rejected",
    "extensions-not-supported",
  ],
  [
    "e=invalid-username-encoding",
    bytes("e=invalid-username-encoding"),
    "server-rejected",
    "invalid-username-encoding",
  ],
  ["e=no-resources", bytes("e=no-resources"), "server-rejected", "no-resources"],
  ["e=other-error", bytes("e=other-error"), "server-rejected", "other-error"],
  ["e= an extension value", bytes("e=account-locked,x=1"), "server-rejected", "account-locked"],
  ["e=toString (no prototype lookup)", bytes("e=toString"), "server-rejected", "toString"],
];

for (const [what, message, code, serverError] of SERVER_FINAL_CASES) {
  Deno.test(`SCRAM client: server-final ${what} -> ${code} (next and finish)`, async () => {
    const viaNext = await afterServerFirst();
    await assert.rejects(() => viaNext.next(message), isCode(code, serverError));
    assert.throws(() => viaNext.finish(te.encode(SERVER_FINAL)), isCode("invalid-state"));
    const viaFinish = await afterServerFirst();
    assert.throws(() => viaFinish.finish(message), isCode(code, serverError));
  });
}

Deno.test("SCRAM client: an e= value is shown escaped and capped, never raw", async () => {
  const c = await afterServerFirst();
  await assert.rejects(() => c.next(te.encode(`e=\u001b[31mred${"x".repeat(200)}`)), (e) => {
    assert.ok(e instanceof ScramServerError);
    assert.equal(e.code, "server-rejected");
    assert.ok(!e.message.includes("\u001b"));
    assert.ok(e.message.length < 120);
    return true;
  });
});

Deno.test("SCRAM client: an empty server-final challenge is malformed-challenge", async () => {
  const c = await afterServerFirst();
  await assert.rejects(() => c.next(new Uint8Array(0)), isCode("malformed-challenge"));
});

Deno.test("SCRAM client: finish() before the server signature is server-not-verified", async () => {
  const early = client();
  assert.throws(() => early.finish(), isCode("server-not-verified"));
  const afterFinal = await afterServerFirst();
  assert.throws(() => afterFinal.finish(), isCode("server-not-verified"));
  assert.throws(() => afterFinal.finish(te.encode(SERVER_FINAL)), isCode("invalid-state"));
  const empty = await afterServerFirst();
  assert.throws(() => empty.finish(new Uint8Array(0)), isCode("server-not-verified"));
});

Deno.test("SCRAM client: after next(server-final), success data must be the same message", async () => {
  const same = await afterServerFirst();
  await same.next(te.encode(SERVER_FINAL));
  assert.equal(same.finish(te.encode(SERVER_FINAL)).qop, "auth");
  const other = await afterServerFirst();
  await other.next(te.encode(SERVER_FINAL));
  assert.throws(() => other.finish(te.encode("v=AAAA")), isCode("malformed-challenge"));
  const twice = await afterServerFirst();
  await twice.next(te.encode(SERVER_FINAL));
  await assert.rejects(() => twice.next(te.encode(SERVER_FINAL)), isCode("invalid-state"));
});

Deno.test("SCRAM client: state errors", async () => {
  const c = new ScramClient({ hash: "SHA-256", username: "u", password: "p" });
  await assert.rejects(() => c.next(te.encode(SERVER_FIRST)), isCode("invalid-state"));
  assert.throws(() => c.finish(), isCode("invalid-state"));
  c.start();
  assert.throws(() => c.start(), isCode("invalid-state"));
  // A second challenge while the first is still being answered.
  const busy = client();
  const first = busy.next(te.encode(SERVER_FIRST));
  await assert.rejects(() => busy.next(te.encode(SERVER_FIRST)), isCode("invalid-state"));
  await first;
});

Deno.test("SCRAM client: option checks are invalid-argument and never quote secrets", async () => {
  await loadSaslprep(); // the bidi password is not ASCII
  const base = { hash: "SHA-256" as const, username: "user", password: "pencil" };
  const cases: [string, Partial<ScramClientOptions>][] = [
    ["unknown hash", { hash: "SHA-384" as never }],
    ["empty username", { username: "" }],
    ["empty password", { password: "" }],
    ["prohibited password", { password: "hunter2\u0007" }],
    ["bidi password", { password: "\u0627\u0031hunter2" }],
    ["prohibited username", { username: "us\u0000er" }],
    ["prohibited authzid", { authorizationId: "ad\u0007min" }],
    ["nonce with comma", { nonce: "ab,c" }],
    ["empty nonce", { nonce: "" }],
  ];
  for (const [what, extra] of cases) {
    assert.throws(() => new ScramClient({ ...base, ...extra }), (e) => {
      isCode("invalid-argument")(e);
      const message = (e as Error).message;
      assert.ok(!message.includes("hunter2") && !message.includes("\u0007"), message);
      return true;
    }, what);
  }
});

Deno.test("SCRAM client: username and authzid are SASLprep'd and escaped", async () => {
  await loadSaslprep(); // U+00AD SOFT HYPHEN is not ASCII
  const c = new ScramClient({
    hash: "SHA-1",
    username: "I\u00ADX,=y",
    password: "p",
    authorizationId: "a=b,c",
    nonce: "n",
  });
  assert.equal(td.decode(c.start()), "n,a=a=3Db=2Cc,n=IX=2C=3Dy,r=n");
});

Deno.test("SCRAM client and server: SASLprep'd password and escaped names end to end", async () => {
  // "\u2168" (ROMAN NUMERAL NINE) prepares to "IX": both sides must agree on it.
  await loadSaslprep();
  const stored = await deriveScramCredentials("IX", { hash: "SHA-256" });
  const seen: string[] = [];
  const server = new ScramServer({
    hash: "SHA-256",
    credentials: (name) => {
      seen.push(name);
      return stored;
    },
    authorize: (user, authzid) => user === "a,b=c" && authzid === "x=y,z",
  });
  const c = new ScramClient({
    hash: "SHA-256",
    username: "a,b=c",
    password: "\u2168",
    authorizationId: "x=y,z",
  });
  const final = await server.next(await c.next((await server.next(c.start())).challenge!));
  assert.equal(final.done, true);
  assert.deepEqual(seen, ["a,b=c"]);
  assert.deepEqual(c.finish(final.challenge), {
    mechanism: "SCRAM-SHA-256",
    authenticationId: "a,b=c",
    authorizationId: "x=y,z",
    qop: "auth",
    iterations: 4096,
  });
  assert.equal(server.outcome().authorizationId, "x=y,z");
});

Deno.test("SCRAM client: before SASLprep's library is loaded, ASCII works and other strings fail typed", async () => {
  // A fresh process, where nothing has loaded @mongodb-js/saslprep yet.
  const url = new URL("./mod.ts", import.meta.url).href;
  const script = `
    import { loadSaslprep, ScramClient } from ${JSON.stringify(url)};
    const out = [];
    const ascii = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil", nonce: "n" });
    out.push(new TextDecoder().decode(ascii.start()));
    try {
      new ScramClient({ hash: "SHA-256", username: "user", password: "h\u00FCnter2" });
    } catch (e) { out.push(e.code, e.message); }
    await loadSaslprep();
    out.push(new ScramClient({ hash: "SHA-256", username: "\u00AA", password: "h\u00FCnter2", nonce: "n" }).start().length);
    console.log(JSON.stringify(out));
  `;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", "--ext=ts", script] });
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const [first, errorCode, message, length] = JSON.parse(td.decode(stdout));
  assert.equal(first, "n,,n=user,r=n");
  assert.equal(errorCode, "saslprep-unavailable");
  assert.match(message, /^the password is not printable ASCII/);
  assert.ok(!message.includes("hunter2") && !message.includes("h\u00FCnter2"), message);
  assert.equal(length, "n,,n=a,r=n".length);
});

Deno.test("SCRAM client: the cache skips PBKDF2 and is keyed without the password", async () => {
  const entries = new Map<string, ScramCachedKeys>();
  let gets = 0;
  const cache: ScramCache = {
    get: (key) => {
      gets++;
      return entries.get(key);
    },
    set: (key, keys) => void entries.set(key, keys),
  };
  const first = client({ cache });
  assert.equal(
    td.decode(await first.next(te.encode(SERVER_FIRST))).split(",p=")[1],
    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(entries.size, 1);
  const [key] = entries.keys();
  assert.match(key, /^[A-Za-z0-9+/]{43}=$/); // base64 of an HMAC-SHA-256
  assert.ok(!key.includes("pencil"));

  // A hit gives the same proof; poisoned keys show the cache is really used.
  const second = client({ cache });
  assert.ok(
    td.decode(await second.next(te.encode(SERVER_FIRST))).endsWith(
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    ),
  );
  second.finish(te.encode(SERVER_FINAL));
  assert.equal(gets, 2);
  entries.set(key, { clientKey: new Uint8Array(32), serverKey: new Uint8Array(32) });
  const poisoned = client({ cache });
  await poisoned.next(te.encode(SERVER_FIRST));
  assert.throws(
    () => poisoned.finish(te.encode(SERVER_FINAL)),
    isCode("server-verification-failed"),
  );

  // Another salt, iteration count or hash is another key.
  const other = client({ cache, minIterations: 1 });
  await other.next(te.encode(`r=${FULL_NONCE},s=${SALT},i=4097`));
  assert.equal(entries.size, 2);
});

Deno.test("SCRAM client: a cache that throws or holds junk is a miss", async () => {
  const throwing: ScramCache = {
    get: () => {
      throw new Error("down");
    },
    set: () => {},
  };
  const c = client({ cache: throwing });
  await c.next(te.encode(SERVER_FIRST));
  c.finish(te.encode(SERVER_FINAL));
  const junk: ScramCache = {
    get: () => ({ clientKey: new Uint8Array(3), serverKey: new Uint8Array(3) }),
    set: () => {},
  };
  const d = client({ cache: junk });
  await d.next(te.encode(SERVER_FIRST));
  d.finish(te.encode(SERVER_FINAL));
});

Deno.test("InMemoryScramCache: bounded, least recently used first, copies", () => {
  const cache = new InMemoryScramCache({ maxEntries: 2 });
  const keys = (n: number) => ({ clientKey: new Uint8Array([n]), serverKey: new Uint8Array([n]) });
  cache.set("a", keys(1));
  cache.set("b", keys(2));
  assert.deepEqual(cache.get("a"), keys(1)); // a is now the most recent
  cache.set("c", keys(3));
  assert.equal(cache.size, 2);
  assert.equal(cache.get("b"), undefined);
  const got = cache.get("a")!;
  got.clientKey.fill(9);
  assert.deepEqual(cache.get("a"), keys(1));
  cache.clear();
  assert.equal(cache.size, 0);
  assert.throws(() => new InMemoryScramCache({ maxEntries: 0 }), isCode("invalid-argument"));
});

Deno.test("SCRAM client: the default nonce is fresh, printable and comma-free", () => {
  const nonces = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const c = new ScramClient({ hash: "SHA-256", username: "u", password: "p" });
    const nonce = td.decode(c.start()).split(",r=")[1];
    assert.match(nonce, /^[\x21-\x2b\x2d-\x7e]{24}$/);
    nonces.add(nonce);
  }
  assert.equal(nonces.size, 20);
});
