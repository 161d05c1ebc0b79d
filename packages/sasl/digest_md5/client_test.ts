import assert from "node:assert/strict";
import { DigestMd5Client, type DigestMd5ClientOptions, DigestMd5ReauthCache } from "./client.ts";
import { DigestMd5NonceStore, DigestMd5Server } from "./server.ts";
import { SaslError } from "../error.ts";
import { bytes, directives, exchange, text } from "../testdata/digest_md5_util.ts";
import { allCiphers, des, rc4_40, tripleDes } from "./ciphers.ts";

const sendmailChallenge = (nonce = "n0nce") =>
  bytes(
    `realm="example.com",nonce="${nonce}",qop="auth,auth-int,auth-conf",` +
      `cipher="rc4-40,rc4-56,rc4,des,3des",maxbuf=8192,charset=utf-8,algorithm=md5-sess`,
  );

// Accepts every cipher unless told otherwise (they matter only with auth-conf).
function client(extra: Record<string, unknown> = {}) {
  return new DigestMd5Client({
    username: "smtpuser",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    cnonce: () => "c0nce",
    ciphers: allCiphers,
    ...extra,
  });
}

Deno.test("RFC 2831 §4 IMAP example: response and rspauth", () => {
  const c = new DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "imap",
    host: "elwood.innosoft.com",
    cnonce: () => "OA6MHXh6VqTrRk",
  });
  assert.equal(c.start(), undefined);
  const response = text(c.next(bytes(
    'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8',
  )));
  assert.equal(
    response,
    'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",' +
      'nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",' +
      "response=d388dad90d4bbd760a152321f2143af7,qop=auth",
  );
  assert.deepEqual(c.next(bytes("rspauth=ea40f60335c427b5527b84dbabcdfffd")), new Uint8Array());
  const outcome = c.finish();
  assert.equal(outcome.qop, "auth");
  assert.equal(outcome.securityLayer, undefined);
  assert.equal(outcome.authenticationId, "chris");
});

Deno.test("RFC 2831 §4 ACAP example: response and rspauth", () => {
  const c = new DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "acap",
    host: "elwood.innosoft.com",
    cnonce: () => "OA9BSuZWMSpW8m",
  });
  c.start();
  const response = directives(text(c.next(bytes(
    'realm="elwood.innosoft.com",nonce="OA9BSXrbuRhWay",qop="auth",algorithm=md5-sess,charset=utf-8',
  ))));
  assert.equal(response.get("response"), "6084c6db3fede7352c551284490fd0fc");
  c.next(bytes("rspauth=2f0b3d7c3c2e486600ef710726aa2eae"));
  assert.equal(c.finish().qop, "auth");
});

Deno.test("Authen::SASL t/digest_md5.t: unknown qop values are ignored", () => {
  // Authen::SASL sends md5_hex("foobar") as its test cnonce.
  const c = new DigestMd5Client({
    username: "gbarr",
    password: "fred",
    service: "ldap",
    host: "localhost",
    cnonce: () => "3858f62230ac3c915f300c664312c63f",
  });
  c.start();
  const response = directives(text(c.next(bytes(
    'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth,auth-inf",algorithm=md5-sess,charset=utf-8',
  ))));
  assert.equal(response.get("response"), "9c81619e12f61fb2eed6bc8ed504ad28");
  assert.equal(response.get("digest-uri"), "ldap/localhost");
  assert.equal(response.get("qop"), "auth");
});

Deno.test("Authen::SASL t/digest_md5_verified.t: response and rspauth", () => {
  const c = new DigestMd5Client({
    username: "fred",
    password: "gladys",
    service: "sieve",
    host: "imap.spodhuis.org",
    cnonce: () => "3858f62230ac3c915f300c664312c63f",
  });
  c.start();
  const response = directives(text(c.next(bytes(
    'nonce="YPymzyi3YH8OILTBvSIuaul7RD3fIANDT2akHE6auBE=",realm="imap.spodhuis.org",qop="auth",' +
      "maxbuf=4096,charset=utf-8,algorithm=md5-sess",
  ))));
  assert.equal(response.get("response"), "3743421076899a855bafec1f7a9ed58a");
  assert.deepEqual(c.next(bytes("rspauth=4593215e1a0613328324b8325b975d96")), new Uint8Array());
  c.finish();
});

Deno.test("the motivating bug: a server offering auth-conf gets qop=auth by default", () => {
  const c = client();
  c.start();
  const response = directives(text(c.next(sendmailChallenge())));
  assert.equal(response.get("qop"), "auth");
  assert.equal(response.has("cipher"), false);
});

Deno.test("qop: the strongest level both the caller accepts and the server offers", () => {
  const cases: [string[], string, string][] = [
    [["auth-int", "auth"], "auth,auth-int,auth-conf", "auth-int"],
    [["auth", "auth-conf", "auth-int"], "auth,auth-int,auth-conf", "auth-conf"],
    [["auth-conf", "auth"], "auth,auth-int", "auth"],
    [["auth-int", "auth-conf"], "auth-int", "auth-int"],
  ];
  for (const [accepted, offered, expected] of cases) {
    const c = client({ qop: accepted });
    c.start();
    const cipher = offered.includes("auth-conf") ? ',cipher="rc4,3des"' : "";
    const response = directives(text(c.next(bytes(
      `nonce="n",qop="${offered}"${cipher},charset=utf-8,algorithm=md5-sess`,
    ))));
    assert.equal(response.get("qop"), expected, `${accepted} vs ${offered}`);
  }
});

Deno.test("qop: no acceptable level is a typed error naming both sides", () => {
  const c = client({ qop: ["auth-conf"] });
  c.start();
  assert.throws(
    () => c.next(bytes('nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess')),
    (e: SaslError) => e.code === "no-acceptable-qop" && /auth-conf/.test(e.message),
  );
});

Deno.test("cipher: the caller's preference among those offered", () => {
  for (
    const [preference, expected] of [
      [[tripleDes, allCiphers[0]], "3des"],
      [[des, rc4_40], "des"],
      [allCiphers, "rc4"],
    ] as const
  ) {
    const c = client({ qop: ["auth-conf"], ciphers: preference });
    c.start();
    assert.equal(directives(text(c.next(sendmailChallenge()))).get("cipher"), expected);
  }
  const c = client({ qop: ["auth-conf"], ciphers: [tripleDes] });
  c.start();
  assert.throws(
    () =>
      c.next(bytes('nonce="n",qop="auth-conf",cipher="rc4-40",charset=utf-8,algorithm=md5-sess')),
    (e: SaslError) => e.code === "no-acceptable-cipher",
  );
});

Deno.test("realm: first offered by default, caller's choice, callback, none offered", () => {
  const challenge = bytes('realm="a.example",realm="b.example",nonce="n",algorithm=md5-sess');
  let c = client();
  c.start();
  assert.equal(directives(text(c.next(challenge))).get("realm"), "a.example");
  c = client({ realm: "b.example" });
  c.start();
  assert.equal(directives(text(c.next(challenge))).get("realm"), "b.example");
  let seen: readonly string[] = [];
  c = client({ realm: (offered: readonly string[]) => (seen = offered, offered[1]) });
  c.start();
  assert.equal(directives(text(c.next(challenge))).get("realm"), "b.example");
  assert.deepEqual(seen, ["a.example", "b.example"]);
  c = client({ realm: "c.example" });
  c.start();
  assert.throws(() => c.next(challenge), (e: SaslError) => e.code === "invalid-argument");
  c = client();
  c.start();
  assert.equal(directives(text(c.next(bytes('nonce="n",algorithm=md5-sess')))).has("realm"), false);
});

Deno.test("digest-uri carries serv-name; authzid is sent and hashed", () => {
  const c = client({ serviceName: "example.com", authorizationId: "boss" });
  c.start();
  const response = directives(text(c.next(sendmailChallenge())));
  assert.equal(response.get("digest-uri"), "smtp/mail.example.com/example.com");
  assert.equal(response.get("authzid"), "boss");
  const { server } = exchange({ authorizationId: "boss" }, {
    authorize: (authcid, authzid) => authcid === "smtpuser" && authzid === "boss",
  });
  assert.equal(server.authorizationId, "boss");
  assert.equal(server.authenticationId, "smtpuser");
});

Deno.test("charset: ISO-8859-1 strings hash narrowed, others as UTF-8, per string", () => {
  // Both sides agree for every mix, and the server takes the per-string rule first.
  for (
    const [user, pass] of [["jürgen", "pässwörd"], ["用户", "密码"], ["jürgen", "密码"], [
      "用户",
      "pässwörd",
    ]]
  ) {
    const { client: outcome } = exchange({ username: user, password: pass }, {
      credentials: (u) => u === user ? { password: pass } : undefined,
    });
    assert.equal(outcome.authenticationId, user);
  }
});

Deno.test("charset: without charset=utf-8 a non-Latin-1 credential is refused before sending", () => {
  const c = client({ password: "密码" });
  c.start();
  assert.throws(
    () => c.next(bytes('nonce="n",algorithm=md5-sess')),
    (e: SaslError) => e.code === "invalid-argument" && !e.message.includes("密码"),
  );
  // ISO-8859-1 credentials are fine, and the response is ISO-8859-1 encoded.
  const latin = client({ username: "jürgen" });
  latin.start();
  const response = latin.next(bytes('nonce="n",algorithm=md5-sess'));
  assert.ok(response.includes(0xfc)); // ü as one byte
});

Deno.test("rspauth: wrong or missing rspauth fails; success is refused before it", () => {
  let c = client();
  c.start();
  c.next(sendmailChallenge());
  assert.throws(
    () => c.next(bytes("rspauth=00000000000000000000000000000000")),
    (e: SaslError) => e.code === "server-verification-failed",
  );
  assert.throws(() => c.finish(), (e: SaslError) => e.code === "invalid-state");

  c = client();
  c.start();
  c.next(sendmailChallenge());
  assert.throws(() => c.finish(), (e: SaslError) => e.code === "server-not-verified");

  c = client();
  c.start();
  c.next(sendmailChallenge());
  assert.throws(
    () => c.next(bytes('realm="x",nonce="y",algorithm=md5-sess')),
    (e: SaslError) => e.code === "server-verification-failed",
  );
});

Deno.test("rspauth may arrive as additional data with success", () => {
  const server = new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    credentials: () => ({ password: "secret" }),
  });
  const c = client();
  c.start();
  const final = server.next(c.next(server.next(undefined).challenge!));
  assert.equal(c.finish(final.challenge).qop, "auth");
});

Deno.test("state machine: calls out of order are invalid-state", () => {
  const c = client();
  assert.throws(() => c.next(sendmailChallenge()), (e: SaslError) => e.code === "invalid-state");
  c.start();
  assert.throws(() => c.start(), (e: SaslError) => e.code === "invalid-state");
  assert.throws(() => c.finish(), (e: SaslError) => e.code === "server-not-verified");
});

Deno.test("a failed exchange stays failed", () => {
  const c = client();
  c.start();
  assert.throws(() => c.next(bytes("garbage")), SaslError);
  assert.throws(() => c.next(sendmailChallenge()), (e: SaslError) => e.code === "invalid-state");
});

Deno.test("cnonce is fresh and random by default", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const c = new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h" });
    c.start();
    seen.add(directives(text(c.next(sendmailChallenge()))).get("cnonce")!);
  }
  assert.equal(seen.size, 20);
  for (const cnonce of seen) assert.match(cnonce, /^[A-Za-z0-9_-]{22}$/);
});

Deno.test("subsequent authentication: cached nonce, nc incremented, server accepts", () => {
  const cache = new DigestMd5ReauthCache();
  const store = new DigestMd5NonceStore();
  const serverOptions = {
    service: "smtp",
    host: "mail.example.com",
    credentials: () => ({ password: "secret" }),
    nonceStore: store,
  };
  // First: a full authentication.
  let server = new DigestMd5Server(serverOptions);
  let c = client({ reauthCache: cache });
  assert.equal(c.start(), undefined);
  let final = server.next(c.next(server.next(undefined).challenge!));
  c.next(final.challenge!);
  c.finish();
  assert.equal(cache.size, 1);

  // Second and third: an initial response with nc=2, then nc=3.
  for (const nc of ["00000002", "00000003"]) {
    server = new DigestMd5Server(serverOptions);
    c = client({ reauthCache: cache });
    const initial = c.start();
    assert.ok(initial);
    assert.equal(directives(text(initial)).get("nc"), nc);
    final = server.next(initial);
    assert.equal(final.done, true);
    c.next(final.challenge!);
    assert.equal(c.finish().qop, "auth");
  }

  // A server without the nonce answers with a fresh challenge; the client falls back.
  server = new DigestMd5Server({ ...serverOptions, nonceStore: new DigestMd5NonceStore() });
  c = client({ reauthCache: cache });
  const initial = c.start()!;
  const step = server.next(initial);
  assert.equal(step.done, false);
  assert.doesNotMatch(text(step.challenge!), /stale=true/); // unknown, not expired
  final = server.next(c.next(step.challenge!));
  c.next(final.challenge!);
  c.finish();
});

Deno.test("auth-conf needs cipher objects: the error says what to import", () => {
  const base = { username: "u", password: "p", service: "smtp", host: "h" };
  for (const ciphers of [undefined, []]) {
    assert.throws(
      () => new DigestMd5Client({ ...base, qop: ["auth-conf", "auth"], ciphers }),
      (e: SaslError) =>
        e.code === "invalid-argument" && /auth-conf needs ciphers/.test(e.message) &&
        e.message.includes('from "@saslkit/sasl/digest-md5/ciphers"'),
    );
  }
  // Names are what the registry takes; the class takes the objects, and says so.
  assert.throws(
    () => new DigestMd5Client({ ...base, ciphers: ["rc4"] as unknown as typeof allCiphers }),
    (e: SaslError) =>
      e.code === "invalid-argument" && /not names/.test(e.message) &&
      e.message.includes("@saslkit/sasl/digest-md5/ciphers"),
  );
  // Ciphers without auth-conf are allowed and unused; auth-int needs none.
  new DigestMd5Client({ ...base, qop: ["auth-int"] });
  new DigestMd5Client({ ...base, qop: ["auth"], ciphers: [tripleDes] });
});

Deno.test("options are validated", () => {
  const base = { username: "u", password: "p", service: "smtp", host: "h" };
  for (
    const bad of [
      { ...base, username: "" },
      { ...base, host: "" },
      { ...base, qop: [] },
      { ...base, qop: ["auth-everything"] },
      { ...base, ciphers: ["aes"] },
      { ...base, ciphers: ["rc4"] },
      { ...base, ciphers: "rc4" },
      { ...base, qop: ["auth-conf"] },
      { ...base, qop: ["auth-conf"], ciphers: [] },
      { ...base, maxbuf: 16 },
      { ...base, maxbuf: 2 ** 24 },
    ]
  ) {
    assert.throws(
      () => new DigestMd5Client(bad as unknown as DigestMd5ClientOptions),
      (e: SaslError) => e.code === "invalid-argument",
    );
  }
});

Deno.test("subsequent authentication: an expired nonce gets stale=true, then a full exchange", async () => {
  const cache = new DigestMd5ReauthCache();
  const store = new DigestMd5NonceStore({ lifetimeMs: 20 });
  const serverOptions = {
    service: "smtp",
    host: "mail.example.com",
    credentials: () => ({ password: "secret" }),
    nonceStore: store,
  };
  let server = new DigestMd5Server(serverOptions);
  let c = client({ reauthCache: cache });
  c.start();
  let final = server.next(c.next(server.next(undefined).challenge!));
  c.next(final.challenge!);
  c.finish();
  await new Promise((resolve) => setTimeout(resolve, 40));
  server = new DigestMd5Server(serverOptions);
  c = client({ reauthCache: cache });
  const step = server.next(c.start()!);
  assert.match(text(step.challenge!), /stale=true/);
  final = server.next(c.next(step.challenge!));
  c.next(final.challenge!);
  assert.equal(c.finish().qop, "auth");
});

Deno.test("subsequent authentication: a cached layer is not reused by a caller who refuses it", () => {
  const cache = new DigestMd5ReauthCache();
  const store = new DigestMd5NonceStore();
  const serverOptions = {
    service: "smtp",
    host: "mail.example.com",
    qop: ["auth", "auth-conf"] as const,
    ciphers: allCiphers,
    credentials: () => ({ password: "secret" }),
    nonceStore: store,
  };
  let server = new DigestMd5Server(serverOptions);
  let c = client({ reauthCache: cache, qop: ["auth-conf"] });
  c.start();
  const final = server.next(c.next(server.next(undefined).challenge!));
  c.next(final.challenge!);
  assert.equal(c.finish().qop, "auth-conf");
  // The default caller applies no layer: it must not get one from the cache.
  server = new DigestMd5Server(serverOptions);
  c = client({ reauthCache: cache });
  assert.equal(c.start(), undefined);
});

Deno.test("subsequent authentication: a failed one is not retried from the cache", () => {
  const cache = new DigestMd5ReauthCache();
  const store = new DigestMd5NonceStore();
  const good = {
    service: "smtp",
    host: "mail.example.com",
    credentials: () => ({ password: "secret" }),
    nonceStore: store,
  };
  let server = new DigestMd5Server(good);
  let c = client({ reauthCache: cache });
  c.start();
  const final = server.next(c.next(server.next(undefined).challenge!));
  c.next(final.challenge!);
  c.finish();
  // The password changed on the server: the subsequent authentication fails with a fresh
  // challenge, and the cache no longer offers the old session.
  server = new DigestMd5Server({ ...good, credentials: () => ({ password: "changed" }) });
  c = client({ reauthCache: cache });
  const step = server.next(c.start()!);
  assert.equal(step.done, false);
  assert.equal(cache.size, 0);
});

Deno.test("auth-conf without a common cipher falls back to auth-int when the caller accepts it", () => {
  const c = client({ qop: ["auth-conf", "auth-int"], ciphers: [tripleDes] });
  c.start();
  const response = directives(text(c.next(bytes(
    'nonce="n",qop="auth-int,auth-conf",cipher="rc4",charset=utf-8,algorithm=md5-sess',
  ))));
  assert.equal(response.get("qop"), "auth-int");
});

Deno.test("a maxbuf too small for a layer rules the layer out", () => {
  const c = client({ qop: ["auth-int", "auth"] });
  c.start();
  const response = directives(text(c.next(bytes(
    'nonce="n",qop="auth,auth-int",maxbuf=20,charset=utf-8,algorithm=md5-sess',
  ))));
  assert.equal(response.get("qop"), "auth");
});

Deno.test("credentialEncoding utf-8: hashes UTF-8 as Dovecot 2.3 does; the server accepts both", () => {
  const user = "jürgen", pass = "pässwörd";
  const server = { credentials: (u: string) => u === user ? { password: pass } : undefined };
  // Both encodings authenticate against saslkit's server, which tries both readings.
  for (const credentialEncoding of ["utf-8", "iso-8859-1-when-possible"] as const) {
    const { server: outcome } = exchange(
      { username: user, password: pass, credentialEncoding },
      server,
    );
    assert.equal(outcome.authenticationId, user);
  }
  // And the two really differ on the wire.
  const responses = (["utf-8", "iso-8859-1-when-possible"] as const).map((credentialEncoding) => {
    const c = client({ username: user, password: pass, credentialEncoding });
    c.start();
    return directives(text(c.next(sendmailChallenge()))).get("response");
  });
  assert.notEqual(responses[0], responses[1]);
});
