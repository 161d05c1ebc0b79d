// H(A1) and the user secret, hashed in one shared buffer: the same values as node:crypto over
// the concatenated bytes, on every path (the client's in-place one, the server's two steps,
// inputs too long for the buffer), and nothing left behind in the buffer or the MD5 state.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hex } from "../_bytes.ts";
import { reusedMd5Residue } from "../_hash.ts";
import {
  clientHashA1,
  type CredentialEncoding,
  hashA1,
  scratchIsWiped,
  userSecret,
  userSecretOf,
} from "./_compute.ts";

const enc = new TextEncoder();
const md5 = (...parts: (Uint8Array | string)[]) => {
  const h = createHash("md5");
  for (const p of parts) h.update(typeof p === "string" ? enc.encode(p) : p);
  return new Uint8Array(h.digest());
};
const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function assertWiped(context: string): void {
  assert.ok(scratchIsWiped(), `${context}: the shared buffer is wiped`);
  const residue = reusedMd5Residue();
  // The seam hashes through noble's reused state in Deno; elsewhere it may never have run.
  if (residue) assert.ok(residue.every((x) => x === 0), `${context}: the MD5 state is wiped`);
}

const CASES: [string, string, string, CredentialEncoding, (t: string) => Uint8Array][] = [
  ["chris", "elwood.innosoft.com", "secret", "latin1", latin1],
  ["chrïs", "", "sécret", "latin1", latin1],
  ["chrïs", "ｒealm", "sécret", "latin1-or-utf8", latin1], // the realm's own bytes: below
  ["user€", "realm", "pässwörd", "utf8", (t) => enc.encode(t)],
  ["u", "r".repeat(400), "p".repeat(700), "latin1", latin1], // over the shared buffer
  ["a", "", "", "latin1", latin1], // shorter than the digest written over it
];

Deno.test("user secret and H(A1): node:crypto's values on every path, and nothing left behind", () => {
  const nonces = ["OA6MG9tEQGm2hh", "n".repeat(60), "x".repeat(1100)];
  for (const [user, realm, pass, encoding, bytesOf] of CASES) {
    const realmBytes = encoding === "latin1-or-utf8" ? enc.encode(realm) : bytesOf(realm);
    const secret = md5(bytesOf(user), ":", realmBytes, ":", bytesOf(pass));
    const context = `${user}/${realm.slice(0, 8)}/${encoding}`;
    assert.equal(hex(userSecretOf(user, realm, pass, encoding)!), hex(secret), context);
    assertWiped(context);
    assert.equal(hex(userSecret(bytesOf(user), realmBytes, bytesOf(pass))), hex(secret));
    assertWiped(context);
    for (const nonce of nonces) {
      for (const authzid of [undefined, "ädmin"]) {
        const a1 = [secret, `:${nonce}:c0nce`, ...(authzid ? [`:${authzid}`] : [])];
        const expected = hex(md5(...a1));
        assert.equal(hex(hashA1(secret, nonce, "c0nce", authzid)), expected, context);
        assertWiped(`${context} hashA1`);
        const viaClient = clientHashA1(user, realm, pass, encoding, nonce, "c0nce", authzid);
        assert.equal(hex(viaClient!), expected, `${context} clientHashA1`);
        assertWiped(`${context} clientHashA1`);
      }
    }
  }
});

Deno.test("user secret and H(A1): an encoding that does not fit leaves nothing behind", () => {
  assert.equal(userSecretOf("chris", "realm", "pass€word", "latin1"), undefined);
  assertWiped("userSecretOf");
  assert.equal(
    clientHashA1("chris", "realm", "pass€word", "latin1", "n", "c", undefined),
    undefined,
  );
  assertWiped("clientHashA1");
});

Deno.test("H(A1): calls in a row and interleaved with the user secret never mix their inputs", () => {
  // A long exchange then a short one, alternately: a value left from the one before would show.
  for (let i = 0; i < 50; i++) {
    const pass = "p".repeat((i * 37) % 300);
    const nonce = "n".repeat((i * 53) % 200 + 1);
    const secret = md5("u:r:", pass);
    assert.deepEqual(userSecretOf("u", "r", pass, "utf8"), secret);
    assert.deepEqual(
      clientHashA1("u", "r", pass, "utf8", nonce, "c", undefined),
      md5(secret, `:${nonce}:c`),
    );
    assert.deepEqual(hashA1(secret, nonce, "cc", "z"), md5(secret, `:${nonce}:cc:z`));
  }
  assertWiped("after 50 rounds");
});
