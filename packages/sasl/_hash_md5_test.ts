import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hex } from "./_bytes.ts";
import { createHash } from "node:crypto";
import {
  keyedHmacMd5,
  md5Backend,
  md5Into,
  nobleMd5Backend,
  nodeMd5Backend,
  nodeMd5KeyedHmac,
  reusedMd5Residue,
} from "./_hash.ts";

const enc = new TextEncoder();

// RFC 2202 §2, HMAC-MD5 test cases 1, 2, 3, 6 and 7 (6 and 7 have an 80-byte key, which HMAC
// hashes first). The keyed form takes the message in two parts, as a layer passes seq | message.
const RFC2202: [Uint8Array, Uint8Array, string][] = [
  [new Uint8Array(16).fill(0x0b), enc.encode("Hi There"), "9294727a3638bb1c13f48ef8158bfc9d"],
  [
    enc.encode("Jefe"),
    enc.encode("what do ya want for nothing?"),
    "750c783e6ab0b503eaa86e310a5db738",
  ],
  [
    new Uint8Array(16).fill(0xaa),
    new Uint8Array(50).fill(0xdd),
    "56be34521d144c88dbb8c733f0e8b3f6",
  ],
  [
    new Uint8Array(80).fill(0xaa),
    enc.encode("Test Using Larger Than Block-Size Key - Hash Key First"),
    "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
  ],
  [
    new Uint8Array(80).fill(0xaa),
    enc.encode("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
    "6f630fad67cda0ee1fb1f562db3aa53e",
  ],
]; // deno-fmt-ignore

Deno.test("keyed HMAC-MD5: RFC 2202 vectors through noble, noble over node:crypto, and the seam", () => {
  const overNode = nodeMd5KeyedHmac();
  assert.ok(overNode, "node:crypto with Hash.copy() is available in Deno");
  for (const [key, data, expected] of RFC2202) {
    for (
      const [name, keyed] of [
        ["noble", nobleMd5Backend.keyed(key)],
        ["noble over node:crypto", overNode(key)],
        ["seam", keyedHmacMd5(key)],
      ] as const
    ) {
      // Twice, and split at every point of the first 5 bytes: the keyed state is reused.
      for (let cut = 0; cut <= Math.min(5, data.length); cut++) {
        assert.equal(hex(keyed(data.subarray(0, cut), data.subarray(cut))), expected, name);
      }
    }
  }
});

Deno.test("keyed HMAC-MD5: noble over node:crypto equals createHmac around the block sizes", () => {
  const key = crypto.getRandomValues(new Uint8Array(16));
  const keyed = nodeMd5KeyedHmac()!(key);
  const seq = new Uint8Array([0, 0, 1, 2]);
  for (const length of [0, 1, 55, 56, 59, 60, 63, 64, 65, 119, 120, 1023, 1024, 4096, 70000]) {
    const message = new Uint8Array(length).map((_, i) => (i * 131 + length) & 255);
    const expected = createHmac("md5", key).update(seq).update(message).digest("hex");
    assert.equal(hex(keyed(seq, message)), expected, `${length} bytes`);
  }
});

Deno.test("keyed HMAC-MD5: the seam is right before and after it moves to the native MD5", () => {
  // In Deno short messages start on noble and move to noble over node:crypto once a long one
  // has loaded it; elsewhere the seam's choice is fixed. Every step must give the same MACs.
  const key = crypto.getRandomValues(new Uint8Array(16));
  const keyed = keyedHmacMd5(key);
  const seq = new Uint8Array(4);
  for (const length of [10, 100, 2000, 10, 100, 5000, 1]) {
    const message = crypto.getRandomValues(new Uint8Array(length));
    assert.deepEqual(keyed(seq, message), nobleMd5Backend.hmac(key, [seq, message]), `${length}`);
  }
  assert.match(md5Backend().name, /noble|node:crypto/);
});

// RFC 1321 §A.5, the test suite (the last two are over one and two blocks).
const RFC1321: [string, string][] = [
  ["", "d41d8cd98f00b204e9800998ecf8427e"],
  ["a", "0cc175b9c0f1b6a831c399e269772661"],
  ["abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
  [
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "d174ab98d277d9f5a5611c2c9f419d9f",
  ],
  ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
]; // deno-fmt-ignore

// Every md5Into there is: the reused noble state, node:crypto's, and the seam's choice.
const INTO: [string, (data: Uint8Array, out: Uint8Array) => void][] = [
  ["noble", nobleMd5Backend.md5Into],
  ["node:crypto", nodeMd5Backend()!.md5Into],
  ["seam", md5Into],
];

Deno.test("md5Into: RFC 1321 vectors through every backend, into fresh, reused and aliased output", () => {
  const out = new Uint8Array(16);
  for (const [name, into] of INTO) {
    for (const [text, expected] of RFC1321) {
      const fresh = new Uint8Array(16);
      into(enc.encode(text), fresh);
      assert.equal(hex(fresh), expected, `${name} "${text}"`);
      into(enc.encode(text), out);
      assert.equal(hex(out), expected, `${name} "${text}" into a reused array`);
      // Into the input itself (as the user secret is hashed in place), with room for 16 bytes.
      const inPlace = new Uint8Array(Math.max(16, text.length) + 3).fill(0x5a);
      inPlace.set(enc.encode(text));
      into(inPlace.subarray(0, text.length), inPlace);
      assert.equal(hex(inPlace.subarray(0, 16)), expected, `${name} "${text}" in place`);
      assert.deepEqual([...inPlace.subarray(Math.max(16, text.length))], [0x5a, 0x5a, 0x5a]);
    }
  }
});

Deno.test("md5Into: interleaved calls of every backend never carry one input into another's digest", () => {
  // Lengths around the block and padding edges, long and short alternately, so a state that
  // kept a partial block, a length or a finished flag from the call before would be caught.
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 3, 200, 0, 64];
  const out = new Uint8Array(16);
  for (let round = 0; round < 40; round++) {
    for (const length of lengths) {
      const data = new Uint8Array(length).map((_, i) => (i * 31 + length * 7 + round) & 255);
      const expected = createHash("md5").update(data).digest("hex");
      for (const [name, into] of INTO) {
        out.fill(0xff);
        into(data, out);
        assert.equal(hex(out), expected, `${name}, ${length} bytes, round ${round}`);
        // A fresh noble state and HMAC in between share noble's module state (MD5_W).
        assert.equal(hex(nobleMd5Backend.md5([data])), expected);
        nobleMd5Backend.hmac(data, [data]);
      }
    }
  }
});

Deno.test("md5Into: the reused noble state is wiped after every call, a failed one included", () => {
  const secret = enc.encode(
    "chris:elwood.innosoft.com:secret, and more than one block of it".repeat(2),
  );
  for (const length of [0, 5, 55, 64, 100, secret.length]) {
    nobleMd5Backend.md5Into(secret.subarray(0, length), new Uint8Array(16));
    const residue = reusedMd5Residue();
    assert.ok(residue && residue.length === 64 + 4, "the block and the four state words");
    assert.ok(residue.every((x) => x === 0), `${length} bytes: nothing left in the state`);
  }
  // Not bytes: noble throws, the state is still wiped and right for the next call.
  assert.throws(() => nobleMd5Backend.md5Into("abc" as unknown as Uint8Array, new Uint8Array(16)));
  assert.ok(reusedMd5Residue()!.every((x) => x === 0));
  const out = new Uint8Array(16);
  nobleMd5Backend.md5Into(enc.encode("abc"), out);
  assert.equal(hex(out), "900150983cd24fb0d6963f7d28e17f72");
});
