import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hex } from "./_bytes.ts";
import { keyedHmacMd5, md5Backend, nobleMd5Backend, nodeMd5KeyedHmac } from "./_hash.ts";

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
