// The cipher options as an untyped JavaScript caller meets them: plain .mjs, no type checks to
// lean on. Names where objects belong get a typed error that says what to import.
import assert from "node:assert/strict";
import { DigestMd5Client, digestMd5Mechanism, DigestMd5Server, SaslError } from "../mod.ts";
import {
  allCiphers,
  ciphersByName,
  des,
  DIGEST_CIPHERS,
  rc4,
  rc4_40,
  rc4_56,
  tripleDes,
} from "./ciphers.ts";

const client = (extra) =>
  new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h", ...extra });
const server = (extra) =>
  new DigestMd5Server({ service: "smtp", host: "h", credentials: () => undefined, ...extra });

function namesTheFix(e) {
  assert.ok(e instanceof SaslError, `not a SaslError: ${e}`);
  assert.equal(e.code, "invalid-argument");
  assert.match(e.message, /not names/);
  assert.match(e.message, /import \{ rc4, tripleDes \} from "@saslkit\/sasl\/digest-md5\/ciphers"/);
  assert.match(e.message, /ciphersByName/);
  return true;
}

Deno.test("plain JS: cipher names instead of cipher objects are refused, naming the fix", () => {
  for (const ciphers of [["rc4"], "rc4", ["3des", "rc4"], [rc4, "des"], { rc4 }, [null], [{}]]) {
    for (const qop of [["auth-conf"], ["auth"]]) {
      assert.throws(() => client({ qop, ciphers }), namesTheFix, JSON.stringify(ciphers));
      assert.throws(() => server({ qop, ciphers }), namesTheFix, JSON.stringify(ciphers));
    }
  }
});

Deno.test("plain JS: auth-conf without ciphers is refused at construction", () => {
  for (const make of [client, server]) {
    for (const ciphers of [undefined, []]) {
      assert.throws(() => make({ qop: ["auth-conf"], ciphers }), (e) => {
        assert.ok(e instanceof SaslError);
        assert.equal(e.code, "invalid-argument");
        assert.match(e.message, /^auth-conf needs ciphers: import/);
        assert.match(e.message, /@saslkit\/sasl\/digest-md5\/ciphers/);
        return true;
      });
    }
  }
});

Deno.test("plain JS: the cipher objects carry their wire names; ciphersByName maps names", () => {
  assert.deepEqual(
    [rc4, tripleDes, rc4_56, des, rc4_40].map((c) => c.name),
    ["rc4", "3des", "rc4-56", "des", "rc4-40"],
  );
  assert.deepEqual(allCiphers, [rc4, tripleDes, rc4_56, des, rc4_40]);
  assert.deepEqual(allCiphers.map((c) => c.name), DIGEST_CIPHERS);
  assert.ok(Object.isFrozen(rc4) && Object.isFrozen(allCiphers));
  assert.deepEqual(ciphersByName(["RC4-40", "3des"]), [rc4_40, tripleDes]);
  for (const bad of [["aes"], [""], [3], "rc4"]) {
    assert.throws(() => ciphersByName(bad), (e) => {
      assert.ok(e instanceof SaslError);
      assert.equal(e.code, "invalid-argument");
      return true;
    });
  }
  assert.throws(
    () => ciphersByName(["aes"]),
    /unknown DIGEST-MD5 cipher "aes": the ciphers are rc4, 3des/,
  );
});

Deno.test("plain JS: a qop or a registry cipher list given as one string is invalid-argument", async () => {
  // A string has a length and no .some(): it must not get past the checks as a TypeError.
  for (const make of [client, server]) {
    assert.throws(() => make({ qop: "auth-conf", ciphers: [rc4] }), (e) => {
      assert.ok(e instanceof SaslError, `not a SaslError: ${e}`);
      assert.equal(e.code, "invalid-argument");
      assert.match(e.message, /^qop must list/);
      return true;
    });
  }
  const context = { service: "smtp", host: "h", options: { digestMd5: { ciphers: "rc4" } } };
  const descriptor = digestMd5Mechanism;
  await assert.rejects(
    async () => await descriptor.createClient({ username: "u", password: "p" }, context),
    (e) =>
      e instanceof SaslError && /digestMd5\.ciphers takes a list of cipher names/.test(e.message),
  );
  assert.throws(
    () => descriptor.createServer({ password: () => "p" }, context),
    (e) => e instanceof SaslError && e.code === "invalid-argument",
  );
});

Deno.test("plain JS: every cipher object runs a layer between client and server", () => {
  for (const cipher of allCiphers) {
    const s = server({
      qop: ["auth-conf"],
      ciphers: allCiphers,
      credentials: () => ({ password: "p" }),
    });
    const c = client({ qop: ["auth-conf"], ciphers: [cipher] });
    c.start();
    const final = s.next(c.next(s.next(undefined).challenge));
    c.next(final.challenge);
    const outcome = c.finish();
    assert.equal(outcome.cipher, cipher.name);
    assert.equal(s.outcome().cipher, cipher.name);
    const message = new TextEncoder().encode("MAIL FROM:<a@b>\r\n");
    assert.deepEqual(
      s.outcome().securityLayer.unwrap(outcome.securityLayer.wrap(message)),
      message,
    );
  }
});

Deno.test("plain JS: an object shaped like a cipher is not one of the ciphers, and is refused", () => {
  // Its name would go on the wire unchecked (here with a quote and a comma) and its streams
  // would key the layer.
  const lookalike = { ...rc4, name: 'x",y', streams: rc4.streams };
  for (const make of [client, server]) {
    assert.throws(() => make({ qop: ["auth-conf"], ciphers: [lookalike] }), namesTheFix);
    assert.throws(
      () => make({ qop: ["auth-conf"], ciphers: [rc4, Object.create(rc4)] }),
      namesTheFix,
    );
  }
});

Deno.test("plain JS: realms given as one string are refused, not split into letters", () => {
  assert.throws(
    () => server({ realms: "example.com" }),
    (e) => e instanceof SaslError && e.code === "invalid-argument" && /realms/.test(e.message),
  );
});

Deno.test("the caller's arrays are copied: changing them later changes nothing a side accepts", () => {
  const qop = ["auth-conf"];
  const ciphers = [rc4];
  const realms = ["example.com"];
  const s = server({ qop, ciphers, realms });
  qop.push("auth");
  ciphers.push(des);
  realms[0] = "evil.example";
  const challenge = new TextDecoder().decode(s.next(undefined).challenge);
  assert.match(challenge, /realm="example\.com"/);
  assert.match(challenge, /qop="auth-conf"/);
  assert.match(challenge, /cipher="rc4"/);
});

Deno.test("the caller's arrays are copied: a qop pushed later is not accepted", () => {
  const credentials = (user) => (user === "u" ? { password: "p" } : undefined);
  const nonce = () => "OA6MG9tEQGm2hh";
  const qop = ["auth-conf"];
  const strict = server({ qop, ciphers: [rc4], credentials, nonce });
  qop.push("auth");
  strict.next(undefined);
  // A response with qop=auth, as a server offering auth (same nonce) would have received it.
  const lenient = server({ qop: ["auth"], credentials, nonce });
  const c = client({ qop: ["auth"] });
  c.start();
  const response = c.next(lenient.next(undefined).challenge);
  assert.throws(() => strict.next(response), SaslError);
  assert.equal(lenient.next(response).done, true);
});
