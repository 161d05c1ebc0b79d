// Bounds (issue 10): hostile sizes get their typed error before any work that grows with them.
import assert from "node:assert/strict";
import { DigestMd5Client, DigestMd5ReauthCache } from "./client.ts";
import { parseDirectives } from "./_directives.ts";
import { decodeLatin1, latin1 } from "../_bytes.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import { bytes, exchange } from "../testdata/digest_md5_util.ts";

// RFC 2831 §4, the IMAP example: the challenge and the rspauth that proves the server.
const CHALLENGE =
  'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';
const RSPAUTH = "rspauth=ea40f60335c427b5527b84dbabcdfffd";

function afterFirstStep(): DigestMd5Client {
  const client = new DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "imap",
    host: "elwood.innosoft.com",
    cnonce: () => "OA6MHXh6VqTrRk",
  });
  client.start();
  client.next(bytes(CHALLENGE));
  return client;
}

function assertCode(fn: () => unknown, code: SaslErrorCode): SaslError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof SaslError, `not a SaslError: ${caught}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

Deno.test("rspauth message: 1 MiB and 4 MiB are message-too-long, the exchange is over", () => {
  for (const size of [1 << 20, 4 << 20]) {
    const client = afterFirstStep();
    const error = assertCode(
      () => client.next(bytes('rspauth="' + "a".repeat(size) + '"')),
      "message-too-long",
    );
    assert.match(error.message, /exceeds 2048/);
    assertCode(() => client.next(bytes(RSPAUTH)), "invalid-state");
    assertCode(() => client.finish(), "invalid-state");
  }
});

Deno.test("rspauth message: the size is checked before the text is parsed", () => {
  // Malformed from its first byte: a parser that ran first would say server-verification-failed.
  const client = afterFirstStep();
  const hostile = new Uint8Array(2049);
  assertCode(() => client.next(hostile), "message-too-long");
});

Deno.test("rspauth message: the limit is 2048 bytes, and a valid message at the limit passes", () => {
  const padded = (length: number) => bytes(RSPAUTH + " ".repeat(length - RSPAUTH.length));
  const ok = afterFirstStep();
  assert.deepEqual(ok.next(padded(2048)), new Uint8Array(0));
  assert.equal(ok.finish().qop, "auth");
  assertCode(() => afterFirstStep().next(padded(2049)), "message-too-long");
});

Deno.test("rspauth as success data: the same limit, before parsing", () => {
  const client = afterFirstStep();
  assertCode(
    () => client.finish(bytes('rspauth="' + "a".repeat(1 << 20) + '"')),
    "message-too-long",
  );
  assertCode(() => client.finish(), "invalid-state");
  const ok = afterFirstStep();
  assert.equal(ok.finish(bytes(RSPAUTH)).qop, "auth");
});

Deno.test("subsequent authentication: an oversize final message is refused the same way", () => {
  // In await-reauth a message that starts with rspauth goes to the rspauth check, anything else
  // to the challenge parser: both are bounded.
  for (const hostile of [RSPAUTH + ",x=" + "a".repeat(1 << 20), "x=" + "a".repeat(1 << 20)]) {
    const reauthCache = new DigestMd5ReauthCache();
    exchange({ reauthCache }, {}); // leaves the session in the cache
    const client = new DigestMd5Client({
      username: "smtpuser",
      password: "secret",
      service: "smtp",
      host: "mail.example.com",
      reauthCache,
    });
    assert.ok(client.start() !== undefined, "no subsequent authentication started");
    assertCode(() => client.next(bytes(hostile)), "message-too-long");
  }
});

Deno.test("decodeLatin1: every byte is the code point of its value, 0x80..0x9F included", () => {
  // WHATWG's "latin1" label is windows-1252, which maps 0x80 to U+20AC: not this.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = decodeLatin1(all);
  assert.equal(text.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i);
  assert.equal(decodeLatin1(new Uint8Array(0)), "");
});

Deno.test("decodeLatin1: long inputs cross chunk boundaries intact", () => {
  for (const length of [8191, 8192, 8193, (1 << 20) + 7]) {
    const input = Uint8Array.from({ length }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
    const text = decodeLatin1(input);
    assert.equal(text.length, length);
    assert.deepEqual(latin1(text), input);
  }
});

Deno.test("parseDirectives: values cut between escapes come out whole", () => {
  const run = "x".repeat(100_000);
  const [plain] = parseDirectives(`a="${run}"`, "malformed-challenge");
  assert.equal(plain.value, run);
  const escaped = parseDirectives(
    `b="${'\\"'.repeat(50_000)}\\\\${run}\\z"`,
    "malformed-challenge",
  );
  assert.equal(escaped[0].value, '"'.repeat(50_000) + "\\" + run + "z");
  assert.deepEqual(
    parseDirectives(' a = "" , b=tok,,c="\\""', "malformed-response").map((d) => [d.name, d.value]),
    [["a", ""], ["b", "tok"], ["c", '"']],
  );
  assertCode(() => parseDirectives('a="x\\', "malformed-challenge"), "malformed-challenge");
  assertCode(() => parseDirectives('a="x\u0001"', "malformed-response"), "malformed-response");
  assertCode(() => parseDirectives("a=\u0080", "malformed-challenge"), "malformed-challenge");
});
