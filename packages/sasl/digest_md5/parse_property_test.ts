// The fast paths of the DIGEST-MD5 exchange against the plain readings they replace: the slot
// scan against the list parser, the byte writers against the array builders, the kept H(A2)
// against hashing it again, the pooled nonce against base64url of the same bytes.
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Directive, parseDirectives, scanDirectives, splitList } from "./_directives.ts";
import { credentialBytes, digestValue, hashA1, userSecret, userSecretOf } from "./_compute.ts";
import {
  asciiPieces,
  decodeLatin1,
  encodeBase64Url,
  hex,
  randomBase64Url,
  utf8,
  utf8Into,
} from "../_bytes.ts";
import { md5Hex, nobleMd5Backend } from "../_hash.ts";
import { SaslError } from "../error.ts";

const RUNS = { numRuns: 300, seed: 20261201 };
const NAMES = ["realm", "nonce", "qop", "digest-uri", "x-a"];

// Directive lists made of known and unknown names in any case, tokens and quoted values with
// escapes, LWS and empty elements; and mutations of them, most of them malformed.
const name = fc.oneof(
  fc.constantFrom(...NAMES, "REALM", "Nonce", "digest-URI", "x-A", "unknown", "noncex", "nonc"),
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,8}$/),
);
const value = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/),
  fc.string({ unit: fc.constantFrom(...'ab \t"\\,=é\u0080\u00ff'), maxLength: 12 }).map((s) =>
    `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`
  ),
);
const list = fc.array(
  fc.tuple(name, value, fc.constantFrom(",", " , ", ",,", "\t,\r\n ")),
  { maxLength: 8 },
).map((items) => items.map(([n, v, sep]) => `${n}=${v}${sep}`).join(""));
const mutated = fc.tuple(
  list,
  fc.nat(),
  fc.constantFrom('"', "\\", ",", "=", " ", "\u0001", "\u007f", "", "a=", '="'),
).map(([text, at, insert]) => {
  const i = text.length ? at % text.length : 0;
  return text.slice(0, i) + insert + text.slice(i + 1);
});

function outcome<T>(read: () => T): T | string {
  try {
    return read();
  } catch (error) {
    assert.ok(error instanceof SaslError);
    return `${error.code}: ${error.message}`;
  }
}

// What scanDirectives must give, computed from parseDirectives' list.
function fromList(directives: Directive[]) {
  const values: (string | undefined)[] = NAMES.map(() => undefined);
  const counts = NAMES.map(() => 0);
  for (const d of directives) {
    const slot = NAMES.indexOf(d.name);
    if (slot < 0) continue;
    if (counts[slot]++ === 0) values[slot] = d.value;
  }
  const all = directives.filter((d) => d.name === "realm").map((d) => d.value);
  // deno-lint-ignore no-control-regex
  const ascii = directives.every((d) => /^[\x00-\x7f]*$/.test(d.value));
  return { values, counts, all, ascii };
}

Deno.test("scanDirectives: the same values, counts, ASCII-ness and errors as parseDirectives", () => {
  fc.assert(
    fc.property(fc.oneof(list, mutated), (text) => {
      const expected = outcome(() => fromList(parseDirectives(text, "malformed-challenge")));
      const actual = outcome(() => {
        const s = scanDirectives(text, "malformed-challenge", NAMES, 0);
        return { values: s.values, counts: s.counts, all: s.all, ascii: s.ascii };
      });
      assert.deepEqual(actual, expected);
    }),
    RUNS,
  );
});

Deno.test("splitList: the elements of split, trim and filter", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(..."ab, \t\u00a0"), maxLength: 16 }), (s) => {
      assert.deepEqual(
        splitList(s),
        s.split(",").map((p) => p.trim()).filter((p) => p.length > 0),
      );
    }),
    RUNS,
  );
});

Deno.test("decodeLatin1: ASCII through TextDecoder reads as every byte's own code point", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, ascii) => {
      const input = ascii ? bytes.map((b) => b & 0x7f) : bytes;
      const text = decodeLatin1(input);
      assert.equal(text.length, input.length);
      for (let i = 0; i < input.length; i++) assert.equal(text.charCodeAt(i), input[i]);
    }),
    RUNS,
  );
});

const anyText = fc.string({ unit: "binary", maxLength: 30 });
const credential = fc.oneof(
  anyText,
  fc.string({ unit: fc.constantFrom(..."aZ9:é\u00ff€漢\ud83d\ude00"), maxLength: 20 }),
);

Deno.test("utf8Into: the bytes of utf8(), at any offset", () => {
  fc.assert(
    fc.property(anyText, fc.nat(5), (text, at) => {
      const out = new Uint8Array(at + 3 * text.length);
      const end = utf8Into(text, out, at);
      assert.deepEqual(out.subarray(at, end), utf8(text));
    }),
    RUNS,
  );
});

Deno.test("asciiPieces: the bytes of the joined pieces when all ASCII, else nothing", () => {
  fc.assert(
    fc.property(fc.array(credential, { maxLength: 6 }), credential, (pieces, last) => {
      const joined = pieces.join("") + last;
      // deno-lint-ignore no-control-regex
      const ascii = /^[\x00-\x7f]*$/.test(joined);
      assert.deepEqual(asciiPieces(pieces, last), ascii ? utf8(joined) : undefined);
    }),
    RUNS,
  );
});

Deno.test("userSecretOf: the secret of the bytes each encoding gives, or none", () => {
  fc.assert(
    fc.property(credential, credential, credential, (u, r, p) => {
      const of = (encode: (s: string) => Uint8Array | undefined) => {
        const [a, b, c] = [encode(u), encode(r), encode(p)];
        return a && b && c ? hex(userSecret(a, b, c)) : undefined;
      };
      const secret = (encoding: "latin1" | "latin1-or-utf8" | "utf8") => {
        const bytes = userSecretOf(u, r, p, encoding);
        return bytes && hex(bytes);
      };
      assert.equal(secret("latin1"), of((s) => credentialBytes(s, false)));
      assert.equal(secret("latin1-or-utf8"), of((s) => credentialBytes(s, true)));
      assert.equal(secret("utf8"), of(utf8));
    }),
    RUNS,
  );
  // Longer than the scratch buffer: its own array, the same secret.
  const long = "é".repeat(2000);
  assert.equal(
    hex(userSecretOf(long, "r", long, "utf8")!),
    hex(userSecret(utf8(long), utf8("r"), utf8(long))),
  );
});

Deno.test("hashA1 and digestValue: the RFC 2831 definitions, H(A2) kept or not", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.constantFrom("smtp/a", "imap/b/c", "ldap/x"),
      fc.constantFrom("auth", "auth-int", "auth-conf"),
      fc.option(credential, { nil: undefined }),
      (secret, uri, qop, authzid) => {
        const ha1 = hashA1(secret, "N0", "C0", authzid);
        const a1 = new Uint8Array([
          ...secret,
          ...utf8(`:N0:C0${authzid ? `:${authzid}` : ""}`),
        ]);
        assert.equal(hex(ha1), hex(nobleMd5Backend.md5([a1])));
        const body = qop === "auth" ? "" : ":00000000000000000000000000000000";
        for (const prefix of ["AUTHENTICATE", ""] as const) {
          const ha2 = md5Hex(`${prefix}:${uri}${body}`);
          const expected = md5Hex(`${hex(ha1)}:N0:00000001:C0:${qop}:${ha2}`);
          // Twice: the second reads the kept H(A2).
          assert.equal(digestValue(ha1, prefix, uri, "N0", "00000001", "C0", qop), expected);
          assert.equal(digestValue(ha1, prefix, uri, "N0", "00000001", "C0", qop), expected);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("randomBase64Url: unpadded base64url, no repeats across pool refills", () => {
  // The encoder against btoa's base64, made url-safe and unpadded.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const reference = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
        /\//g,
        "_",
      ).replace(/=+$/, "");
      assert.equal(encodeBase64Url(bytes), reference);
    }),
    RUNS,
  );
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) { // crosses pool refills (4096 bytes)
    const nonce = randomBase64Url(18);
    assert.match(nonce, /^[A-Za-z0-9_-]{24}$/);
    assert.ok(!seen.has(nonce), "a nonce repeated");
    seen.add(nonce);
  }
  assert.match(randomBase64Url(300), /^[A-Za-z0-9_-]{400}$/);
});
