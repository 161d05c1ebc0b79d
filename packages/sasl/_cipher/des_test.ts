import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv } from "node:crypto";
import { concat, hex } from "../_bytes.ts";
import { SaslError } from "../error.ts";
import { DesCbc } from "./des.ts";

function fromHex(text: string): Uint8Array {
  return new Uint8Array(text.replaceAll(" ", "").match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
}

const ZERO_IV = new Uint8Array(8);

/** ECB through the CBC class: one block with a zero IV is one application of the cipher. */
function ecb(key: string, block: string, direction: "encrypt" | "decrypt"): string {
  return hex(new DesCbc(fromHex(key), ZERO_IV, direction).process(fromHex(block)));
}

function isInvalidArgument(error: unknown): boolean {
  return error instanceof SaslError && error.code === "invalid-argument";
}

/** Cuts `data` into pieces of whole blocks, empty pieces included. */
function blockChunks(data: Uint8Array, random: boolean): Uint8Array[] {
  const chunks: Uint8Array[] = [new Uint8Array(0)];
  let offset = 0;
  while (offset < data.length) {
    const blocks = random ? 1 + crypto.getRandomValues(new Uint8Array(1))[0] % 9 : 1;
    chunks.push(data.subarray(offset, offset + blocks * 8));
    offset += blocks * 8;
  }
  chunks.push(new Uint8Array(0));
  return chunks;
}

function processAll(cipher: DesCbc, chunks: Uint8Array[]): Uint8Array {
  return concat(...chunks.map((chunk) => cipher.process(chunk)));
}

// FIPS 81 Appendix C (CBC mode example); also what OpenSSL des-cbc gives.
const FIPS81 = {
  key: "0123456789abcdef",
  iv: "1234567890abcdef",
  plaintext: new TextEncoder().encode("Now is the time for all "),
  ciphertext: "e5c7cdde872bf27c 43e934008c389c0f 683788499a7c05f6",
};

Deno.test("DesCbc: FIPS 81 CBC example, at once and block by block, both directions", () => {
  const key = fromHex(FIPS81.key);
  const iv = fromHex(FIPS81.iv);
  const ciphertext = fromHex(FIPS81.ciphertext);
  assert.deepEqual(new DesCbc(key, iv, "encrypt").process(FIPS81.plaintext), ciphertext);
  assert.deepEqual(
    processAll(new DesCbc(key, iv, "encrypt"), blockChunks(FIPS81.plaintext, false)),
    ciphertext,
  );
  assert.deepEqual(new DesCbc(key, iv, "decrypt").process(ciphertext), FIPS81.plaintext);
  assert.deepEqual(
    processAll(new DesCbc(key, iv, "decrypt"), blockChunks(ciphertext, false)),
    FIPS81.plaintext,
  );
});

// NIST SP 800-17 Appendix B known-answer tests (also checked against OpenSSL des-ecb):
// [key, plaintext, ciphertext].
const SP800_17 = [
  // Table 1, variable plaintext.
  ["0101010101010101", "8000000000000000", "95f8a5e5dd31d900"],
  ["0101010101010101", "4000000000000000", "dd7f121ca5015619"],
  ["0101010101010101", "2000000000000000", "2e8653104f3834ea"],
  ["0101010101010101", "0000000000000001", "166b40b44aba4bd6"],
  // Table 2, variable key.
  ["8001010101010101", "0000000000000000", "95a8d72813daa94d"],
  ["4001010101010101", "0000000000000000", "0eec1487dd8c26d5"],
  ["2001010101010101", "0000000000000000", "7ad16ffb79c45926"],
  ["1001010101010101", "0000000000000000", "d3746294ca6a6cf3"],
  // Table 3, permutation operation.
  ["1046913489980131", "0000000000000000", "88d55e54f54c97b4"],
  // Table 4, substitution table.
  ["7ca110454a1a6e57", "01a1d6d039776742", "690f5b0d9a26939b"],
  ["0131d9619dc1376e", "5cd54ca83def57da", "7a389d10354bd271"],
];

Deno.test("DesCbc: NIST SP 800-17 DES known answers", () => {
  for (const [key, plaintext, ciphertext] of SP800_17) {
    assert.equal(ecb(key, plaintext, "encrypt"), ciphertext, `encrypt with ${key}`);
    assert.equal(ecb(key, ciphertext, "decrypt"), plaintext, `decrypt with ${key}`);
  }
});

Deno.test("DesCbc: triple DES with K1 = K2 = K3 is single DES (NIST SP 800-20 TECB KAT)", () => {
  const key = "0101010101010101".repeat(3);
  assert.equal(ecb(key, "8000000000000000", "encrypt"), "95f8a5e5dd31d900");
  assert.equal(
    ecb("0101010101010101".repeat(2), "8000000000000000", "encrypt"),
    "95f8a5e5dd31d900",
  );
});

Deno.test("DesCbc: NIST SP 800-67 three-key triple DES example", () => {
  const key = "0123456789abcdef 23456789abcdef01 456789abcdef0123".replaceAll(" ", "");
  const plaintext = hex(new TextEncoder().encode("The qufck brown fox jump"));
  const ciphertext = "a826fd8ce53b855f cce21c8112256fe6 68d5c05dd9b6b900".replaceAll(" ", "");
  for (let i = 0; i < 48; i += 16) {
    const p = plaintext.slice(i, i + 16);
    const c = ciphertext.slice(i, i + 16);
    assert.equal(ecb(key, p, "encrypt"), c);
    assert.equal(ecb(key, c, "decrypt"), p);
  }
});

Deno.test("DesCbc: two-key triple DES CBC (16-byte key) matches OpenSSL des-ede-cbc", () => {
  // openssl enc -des-ede-cbc -K 0123456789abcdeffedcba9876543210 -iv 1234567890abcdef -nopad
  const key = fromHex("0123456789abcdef fedcba9876543210");
  const iv = fromHex(FIPS81.iv);
  const ciphertext = fromHex("f85d4ab92066789e 1d0430671f28ae7a b9627d35385d2e24");
  assert.deepEqual(new DesCbc(key, iv, "encrypt").process(FIPS81.plaintext), ciphertext);
  assert.deepEqual(new DesCbc(key, iv, "decrypt").process(ciphertext), FIPS81.plaintext);
  // The same as a 24-byte key K1, K2, K1.
  const expanded = concat(key, key.subarray(0, 8));
  assert.deepEqual(new DesCbc(expanded, iv, "encrypt").process(FIPS81.plaintext), ciphertext);
});

Deno.test("DesCbc: triple DES CBC matches node:crypto des-ede3-cbc on random data in chunks", () => {
  for (const keyLength of [24, 16, 24, 16]) {
    const key = crypto.getRandomValues(new Uint8Array(keyLength));
    const nodeKey = keyLength === 16 ? concat(key, key.subarray(0, 8)) : key;
    const iv = crypto.getRandomValues(new Uint8Array(8));
    const plaintext = crypto.getRandomValues(new Uint8Array(8 * 300));

    const nodeCipher = createCipheriv("des-ede3-cbc", nodeKey, iv).setAutoPadding(false);
    const expected = concat(nodeCipher.update(plaintext), nodeCipher.final());
    const ciphertext = processAll(new DesCbc(key, iv, "encrypt"), blockChunks(plaintext, true));
    assert.equal(hex(ciphertext), hex(expected));

    const nodeDecipher = createDecipheriv("des-ede3-cbc", nodeKey, iv).setAutoPadding(false);
    assert.deepEqual(concat(nodeDecipher.update(ciphertext), nodeDecipher.final()), plaintext);
    const decrypted = processAll(new DesCbc(key, iv, "decrypt"), blockChunks(ciphertext, true));
    assert.deepEqual(decrypted, plaintext);
  }
});

Deno.test("DesCbc: decrypt(encrypt(x)) with the chain carried across many calls", () => {
  for (const keyLength of [8, 16, 24]) {
    const key = crypto.getRandomValues(new Uint8Array(keyLength));
    const iv = crypto.getRandomValues(new Uint8Array(8));
    const sender = new DesCbc(key, iv, "encrypt");
    const receiver = new DesCbc(key, iv, "decrypt");
    const once = new DesCbc(key, iv, "encrypt");
    const sent: Uint8Array[] = [];
    for (const blocks of [1, 0, 3, 1, 16, 2]) {
      const plaintext = crypto.getRandomValues(new Uint8Array(blocks * 8));
      const copy = plaintext.slice();
      const ciphertext = sender.process(plaintext);
      assert.deepEqual(plaintext, copy, "input left unchanged");
      assert.deepEqual(receiver.process(ciphertext), plaintext);
      sent.push(plaintext);
    }
    // The chain across calls is the same chain as one call over everything.
    const all = concat(...sent);
    const chainedOnce = once.process(all);
    const chainedAgain = processAll(new DesCbc(key, iv, "encrypt"), sent);
    assert.deepEqual(chainedAgain, chainedOnce);
  }
});

Deno.test("DesCbc: identical blocks in successive calls encrypt differently (the chain moves on)", () => {
  const cipher = new DesCbc(fromHex(FIPS81.key), fromHex(FIPS81.iv), "encrypt");
  const block = new Uint8Array(8);
  assert.notDeepEqual(cipher.process(block), cipher.process(block));
});

Deno.test("DesCbc: key and IV are copied, parity bits are ignored", () => {
  const key = fromHex(FIPS81.key);
  const iv = fromHex(FIPS81.iv);
  const cipher = new DesCbc(key, iv, "encrypt");
  key.fill(0);
  iv.fill(0);
  assert.deepEqual(cipher.process(FIPS81.plaintext), fromHex(FIPS81.ciphertext));
  // 0123456789abcdef with every low bit flipped.
  const flipped = new DesCbc(fromHex("0022446688aaccee"), fromHex(FIPS81.iv), "encrypt");
  assert.deepEqual(flipped.process(FIPS81.plaintext), fromHex(FIPS81.ciphertext));
});

Deno.test("DesCbc: rejects partial blocks, bad key and IV lengths", () => {
  const key = new Uint8Array(8);
  for (const direction of ["encrypt", "decrypt"] as const) {
    const cipher = new DesCbc(key, ZERO_IV, direction);
    for (const length of [1, 7, 9, 15, 17]) {
      assert.throws(() => cipher.process(new Uint8Array(length)), isInvalidArgument);
    }
    // A refused call leaves the chain where it was.
    const fresh = new DesCbc(key, ZERO_IV, direction);
    assert.deepEqual(cipher.process(new Uint8Array(16)), fresh.process(new Uint8Array(16)));
  }
  for (const length of [0, 7, 9, 15, 17, 23, 25, 32]) {
    assert.throws(() => new DesCbc(new Uint8Array(length), ZERO_IV, "encrypt"), isInvalidArgument);
  }
  for (const length of [0, 7, 9, 16]) {
    assert.throws(() => new DesCbc(key, new Uint8Array(length), "encrypt"), isInvalidArgument);
  }
  assert.throws(
    () => new DesCbc(key, ZERO_IV, "sideways" as "encrypt"),
    isInvalidArgument,
  );
});

// An independent single-DES CBC: OpenSSL through Node with the legacy provider (Node's default
// OpenSSL 3 configuration and Deno refuse des-cbc). Skipped where no such Node is on PATH.
async function openSslDesCbc(
  cases: { key: string; iv: string; data: string; decrypt: boolean }[],
): Promise<string[]> {
  const script = `
    const crypto = require("node:crypto");
    const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(cases.map(({ key, iv, data, decrypt }) => {
      const make = decrypt ? crypto.createDecipheriv : crypto.createCipheriv;
      const c = make("des-cbc", Buffer.from(key, "hex"), Buffer.from(iv, "hex"));
      c.setAutoPadding(false);
      return Buffer.concat([c.update(Buffer.from(data, "hex")), c.final()]).toString("hex");
    })));`;
  const child = new Deno.Command("node", {
    args: ["--openssl-legacy-provider", "-e", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const haveLegacyNode = await openSslDesCbc([
  { key: FIPS81.key, iv: FIPS81.iv, data: hex(FIPS81.plaintext), decrypt: false },
]).then(
  (result) => result[0] === FIPS81.ciphertext.replaceAll(" ", ""),
  () => false,
);

Deno.test({
  name: "DesCbc: single DES CBC matches OpenSSL des-cbc on random data in chunks",
  ignore: !haveLegacyNode,
  fn: async () => {
    const cases = [false, true, false, true].map((decrypt) => ({
      key: hex(crypto.getRandomValues(new Uint8Array(8))),
      iv: hex(crypto.getRandomValues(new Uint8Array(8))),
      data: hex(crypto.getRandomValues(new Uint8Array(8 * 200))),
      decrypt,
    }));
    const expected = await openSslDesCbc(cases);
    for (const [n, { key, iv, data, decrypt }] of cases.entries()) {
      const cipher = new DesCbc(fromHex(key), fromHex(iv), decrypt ? "decrypt" : "encrypt");
      assert.equal(hex(processAll(cipher, blockChunks(fromHex(data), true))), expected[n]);
    }
  },
});
