// The catalogue of malformed DIGEST-MD5 messages: each one, from a broken or hostile peer, must
// end the exchange with its own typed error, never a crash, a hang or a leaked secret.
import assert from "node:assert/strict";
import { DigestMd5Client } from "./client.ts";
import { DigestMd5Server } from "./server.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import { bytes } from "../testdata/digest_md5_util.ts";
import { allCiphers, tripleDes } from "./ciphers.ts";

const PASSWORD = "correct horse battery staple";
const OK = 'realm="example.com",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess';

interface Case {
  readonly name: string;
  readonly input: string | Uint8Array;
  readonly code: SaslErrorCode;
}

const challenges: Case[] = [
  { name: "empty", input: "", code: "malformed-challenge" },
  { name: "no nonce", input: 'realm="r",algorithm=md5-sess', code: "malformed-challenge" },
  { name: "no algorithm", input: 'nonce="n"', code: "malformed-challenge" },
  { name: "algorithm md5", input: 'nonce="n",algorithm=md5', code: "malformed-challenge" },
  {
    name: "two nonces",
    input: 'nonce="a",nonce="b",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two algorithms",
    input: 'nonce="a",algorithm=md5-sess,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two qop directives",
    input: 'nonce="a",qop="auth",qop="auth",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two charsets",
    input: 'nonce="a",charset=utf-8,charset=utf-8,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two maxbufs",
    input: 'nonce="a",maxbuf=1024,maxbuf=2048,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two stale directives",
    input: 'nonce="a",stale=true,stale=true,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "two cipher directives",
    input: 'nonce="a",qop="auth-conf",cipher="rc4",cipher="des",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  { name: "empty nonce", input: 'nonce="",algorithm=md5-sess', code: "malformed-challenge" },
  {
    name: "charset latin1",
    input: 'nonce="a",charset=iso-8859-1,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "stale=false",
    input: 'nonce="a",stale=false,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "maxbuf 16",
    input: 'nonce="a",maxbuf=16,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "maxbuf 2^24",
    input: 'nonce="a",maxbuf=16777216,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "maxbuf not a number",
    input: 'nonce="a",maxbuf=lots,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "maxbuf negative",
    input: 'nonce="a",maxbuf=-5,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "maxbuf huge",
    input: 'nonce="a",maxbuf=99999999999999999999,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "auth-conf without cipher (GNU SASL's parser vector)",
    input: 'qop="auth, auth-conf", nonce=42, algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "only unknown qops",
    input: 'nonce="a",qop="auth-magic",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  { name: "no directives (GNU SASL)", input: "bar=foo, foo=bar", code: "malformed-challenge" },
  {
    name: "unterminated quote",
    input: 'nonce="abc,algorithm=md5-sess',
    code: "malformed-challenge",
  },
  { name: "backslash at the end", input: 'nonce="abc\\', code: "malformed-challenge" },
  { name: "missing =", input: 'nonce "abc",algorithm=md5-sess', code: "malformed-challenge" },
  { name: "missing value", input: "nonce=,algorithm=md5-sess", code: "malformed-challenge" },
  { name: "missing name", input: '="abc",algorithm=md5-sess', code: "malformed-challenge" },
  {
    name: "no comma between directives",
    input: 'nonce="a" algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "semicolon separator",
    input: 'nonce="a";algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "control character in quotes",
    input: 'nonce="a\u0001b",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "NUL in quotes",
    input: 'nonce="a\u0000b",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "invalid UTF-8 with charset=utf-8",
    input: new Uint8Array([
      ...bytes('nonce="'),
      0xff,
      0xfe,
      ...bytes('",charset=utf-8,algorithm=md5-sess'),
    ]),
    code: "malformed-challenge",
  },
  {
    name: "rspauth in the first challenge",
    input: "rspauth=0123456789abcdef0123456789abcdef",
    code: "malformed-challenge",
  },
  {
    name: "longer than 2048 bytes",
    input: `nonce="${"n".repeat(2100)}",algorithm=md5-sess`,
    code: "message-too-long",
  },
  {
    name: "non-ASCII nonce",
    input: 'nonce="caf\u00e9",algorithm=md5-sess',
    code: "malformed-challenge",
  },
  {
    name: "binary garbage",
    input: new Uint8Array([0x00, 0xff, 0x10, 0x80]),
    code: "malformed-challenge",
  },
  {
    name: "qop offers auth only, caller insists on a layer",
    input: 'nonce="a",qop="auth",algorithm=md5-sess',
    code: "no-acceptable-qop",
  },
  {
    name: "only a cipher the caller refuses",
    input: 'nonce="a",qop="auth-conf",cipher="rc4-40",algorithm=md5-sess',
    code: "no-acceptable-cipher",
  },
];

const RSPAUTH_CASES: Case[] = [
  {
    name: "wrong rspauth",
    input: "rspauth=0123456789abcdef0123456789abcdef",
    code: "server-verification-failed",
  },
  { name: "empty rspauth message", input: "", code: "server-verification-failed" },
  { name: "rspauth twice", input: "rspauth=a,rspauth=b", code: "server-verification-failed" },
  { name: "garbage instead of rspauth", input: "\u0000\u0001", code: "server-verification-failed" },
  { name: "a second challenge instead of rspauth", input: OK, code: "server-verification-failed" },
];

for (const c of challenges) {
  Deno.test(`malformed challenge: ${c.name} → ${c.code}`, () => {
    const strict = c.name.includes("caller");
    const client = new DigestMd5Client({
      username: "u",
      password: PASSWORD,
      service: "smtp",
      host: "h",
      qop: strict ? ["auth-conf", "auth-int"] : ["auth", "auth-int", "auth-conf"],
      ciphers: strict ? [tripleDes] : allCiphers,
    });
    client.start();
    const input = typeof c.input === "string" ? bytes(c.input) : c.input;
    assert.throws(() => client.next(input), (e: unknown) => {
      assert.ok(e instanceof SaslError, `not a SaslError: ${e}`);
      assert.equal(e.code, c.code, e.message);
      assert.ok(!e.message.includes(PASSWORD));
      return true;
    });
  });
}

for (const c of RSPAUTH_CASES) {
  Deno.test(`malformed final message: ${c.name} → ${c.code}`, () => {
    const client = new DigestMd5Client({
      username: "u",
      password: PASSWORD,
      service: "smtp",
      host: "h",
    });
    client.start();
    client.next(bytes(OK));
    assert.throws(
      () => client.next(typeof c.input === "string" ? bytes(c.input) : c.input),
      (e: unknown) => e instanceof SaslError && e.code === c.code,
    );
    assert.throws(() => client.finish(), SaslError);
  });
}

// Responses, checked by a server that issued nonce "N" for service smtp on host h, realm r.
const GOOD: Record<string, string> = {
  charset: "utf-8",
  username: '"u"',
  realm: '"r"',
  nonce: '"N"',
  cnonce: '"C"',
  nc: "00000001",
  qop: "auth",
  "digest-uri": '"smtp/h"',
  response: "0123456789abcdef0123456789abcdef",
};
const build = (changes: Record<string, string | null>, extra = "") =>
  Object.entries({ ...GOOD, ...changes })
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") + extra;

const responses: Case[] = [
  { name: "empty", input: "", code: "malformed-response" },
  { name: "no username", input: build({ username: null }), code: "malformed-response" },
  { name: "empty username", input: build({ username: '""' }), code: "malformed-response" },
  { name: "no nonce", input: build({ nonce: null }), code: "malformed-response" },
  { name: "no cnonce", input: build({ cnonce: null }), code: "malformed-response" },
  { name: "empty cnonce", input: build({ cnonce: '""' }), code: "malformed-response" },
  { name: "no nc", input: build({ nc: null }), code: "malformed-response" },
  { name: "nc too short", input: build({ nc: "0001" }), code: "malformed-response" },
  { name: "nc not hex", input: build({ nc: "0000000g" }), code: "malformed-response" },
  { name: "no digest-uri", input: build({ "digest-uri": null }), code: "malformed-response" },
  { name: "no response", input: build({ response: null }), code: "malformed-response" },
  { name: "response too short", input: build({ response: "0123" }), code: "malformed-response" },
  {
    name: "response not hex",
    input: build({ response: "z".repeat(32) }),
    code: "malformed-response",
  },
  { name: "two usernames", input: build({}, ',username="v"'), code: "malformed-response" },
  {
    name: "two digest-uris (Authen::SASL)",
    input: build({}, ',digest-uri="smtp/h"'),
    code: "malformed-response",
  },
  {
    name: "two responses",
    input: build({}, ",response=0123456789abcdef0123456789abcdef"),
    code: "malformed-response",
  },
  {
    name: "two authzids",
    input: build({}, ',authzid="a",authzid="b"'),
    code: "malformed-response",
  },
  { name: "maxbuf out of range", input: build({ maxbuf: "16" }), code: "malformed-response" },
  {
    name: "charset other than utf-8",
    input: build({ charset: "latin1" }),
    code: "malformed-response",
  },
  {
    name: "auth-conf without cipher",
    input: build({ qop: "auth-conf" }),
    code: "malformed-response",
  },
  { name: "qop not offered", input: build({ qop: "auth-int" }), code: "no-acceptable-qop" },
  { name: "unknown qop", input: build({ qop: "auth-everything" }), code: "no-acceptable-qop" },
  { name: "wrong nonce", input: build({ nonce: '"M"' }), code: "authentication-failed" },
  { name: "nc of 2 on a fresh nonce", input: build({ nc: "00000002" }), code: "replay" },
  {
    name: "digest-uri for another service",
    input: build({ "digest-uri": '"imap/h"' }),
    code: "authentication-failed",
  },
  {
    name: "digest-uri for another host",
    input: build({ "digest-uri": '"smtp/evil"' }),
    code: "authentication-failed",
  },
  {
    name: "digest-uri without host",
    input: build({ "digest-uri": '"smtp"' }),
    code: "authentication-failed",
  },
  {
    name: "digest-uri with four parts",
    input: build({ "digest-uri": '"smtp/h/x/y"' }),
    code: "authentication-failed",
  },
  { name: "realm not offered", input: build({ realm: '"other"' }), code: "authentication-failed" },
  { name: "wrong digest", input: build({}), code: "authentication-failed" },
  { name: "unterminated quote", input: 'username="u,nonce="N"', code: "malformed-response" },
  {
    name: "longer than 4096 bytes",
    input: build({ cnonce: `"${"c".repeat(4100)}"` }),
    code: "message-too-long",
  },
  {
    name: "NUL in username",
    input: build({ username: '"ali\\\u0000ce"' }),
    code: "malformed-response",
  },
  {
    name: "CR LF in username",
    input: build({ username: '"alice\r\n x"' }),
    code: "malformed-response",
  },
  {
    name: "control character in authzid",
    input: build({}, ',authzid="a\u0007"'),
    code: "malformed-response",
  },
  { name: "non-ASCII cnonce", input: build({ cnonce: '"c\u00e9"' }), code: "malformed-response" },
  {
    name: "maxbuf too small for auth-conf",
    input: build({ qop: "auth-conf", cipher: "rc4", maxbuf: "20" }),
    code: "malformed-response",
  },
  {
    name: "invalid UTF-8 username with charset=utf-8",
    input: new Uint8Array([...bytes('charset=utf-8,username="'), 0xc3, 0x28, ...bytes('"')]),
    code: "malformed-response",
  },
];

for (const c of responses) {
  Deno.test(`malformed response: ${c.name} → ${c.code}`, () => {
    const server = new DigestMd5Server({
      service: "smtp",
      host: "h",
      realms: ["r"],
      qop: ["auth", "auth-conf"],
      ciphers: allCiphers,
      credentials: () => ({ password: PASSWORD }),
      nonce: () => "N",
    });
    server.next(undefined);
    const input = typeof c.input === "string" ? bytes(c.input) : c.input;
    assert.throws(() => server.next(input), (e: unknown) => {
      assert.ok(e instanceof SaslError, `not a SaslError: ${e}`);
      assert.equal(e.code, c.code, e.message);
      assert.ok(!e.message.includes(PASSWORD));
      return true;
    });
    // The exchange is over: nothing more is accepted.
    assert.throws(
      () => server.next(bytes(build({}))),
      (e: SaslError) => e.code === "invalid-state",
    );
    assert.throws(() => server.outcome(), (e: SaslError) => e.code === "invalid-state");
  });
}

Deno.test("the catalogue holds at least 40 malformed messages", () => {
  assert.ok(challenges.length + RSPAUTH_CASES.length + responses.length >= 40);
});

Deno.test("lenient where real peers differ: unknown directives, empty elements, LWS, tokens", () => {
  const client = new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h" });
  client.start();
  // GNU SASL's accepted vector, plus empty list elements and an unknown directive.
  const response = client.next(
    bytes(' ,, nonce=4711 , foo=bar,\t algorithm=md5-sess, x-ext="a\\"b",'),
  );
  assert.ok(new TextDecoder().decode(response).includes('nonce="4711"'));
});
