import assert from "node:assert/strict";
import { SaslError } from "../error.ts";
import { frame, FrameDecoder, type SecurityLayer } from "../security_layer.ts";
import { ciphersByName, DIGEST_CIPHERS, type DigestCipher } from "./ciphers.ts";
import { expandDesKey } from "./_compute.ts";
import { bytes, exchange, text } from "../testdata/digest_md5_util.ts";

const LAYERS: { qop: "auth-int" | "auth-conf"; cipher?: DigestCipher }[] = [
  { qop: "auth-int" },
  ...DIGEST_CIPHERS.map((cipher) => ({ qop: "auth-conf" as const, cipher })),
];

function layers(qop: "auth-int" | "auth-conf", cipher?: DigestCipher, maxbuf?: number) {
  const { client, server } = exchange(
    { qop: [qop], ciphers: cipher ? ciphersByName([cipher]) : undefined, maxbuf },
    { qop: ["auth", "auth-int", "auth-conf"], maxbuf },
  );
  assert.equal(client.qop, qop);
  assert.equal(server.qop, qop);
  assert.equal(client.cipher, cipher);
  return { client: client.securityLayer!, server: server.securityLayer! };
}

const name = (l: { qop: string; cipher?: string }) => l.cipher ?? l.qop;

for (const layer of LAYERS) {
  Deno.test(`${name(layer)}: messages cross both ways, in order, every length`, () => {
    const { client, server } = layers(layer.qop, layer.cipher);
    assert.equal(client.qop, layer.qop);
    for (let length = 0; length < 40; length++) {
      const message = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
      const wrapped = client.wrap(message);
      if (layer.qop === "auth-conf" && length > 8) {
        assert.ok(!text(wrapped).includes(text(message)), "confidentiality hides the message");
      }
      assert.deepEqual(server.unwrap(wrapped), message);
      assert.deepEqual(client.unwrap(server.wrap(message)), message);
    }
  });

  Deno.test(`${name(layer)}: tampering is detected and the layer refuses further use`, () => {
    const { client, server } = layers(layer.qop, layer.cipher);
    const wrapped = client.wrap(bytes("MAIL FROM:<a@example.com>\r\n"));
    for (const index of [0, wrapped.length - 7, wrapped.length - 11]) {
      const { client: c2, server: s2 } = layers(layer.qop, layer.cipher);
      const w = c2.wrap(bytes("MAIL FROM:<a@example.com>\r\n"));
      w[index] ^= 0x01;
      assert.throws(() => s2.unwrap(w), (e: SaslError) => e.code === "integrity-check-failed");
      assert.throws(() => s2.unwrap(w), (e: SaslError) => e.code === "invalid-state");
    }
    assert.equal(text(server.unwrap(wrapped)), "MAIL FROM:<a@example.com>\r\n");
  });

  Deno.test(`${name(layer)}: replayed and reordered buffers are refused`, () => {
    let { client, server } = layers(layer.qop, layer.cipher);
    const first = client.wrap(bytes("one"));
    server.unwrap(first);
    assert.throws(() => server.unwrap(first), (e: SaslError) => e.code === "sequence-mismatch");

    ({ client, server } = layers(layer.qop, layer.cipher));
    client.wrap(bytes("one"));
    const second = client.wrap(bytes("two"));
    assert.throws(() => server.unwrap(second), (e: SaslError) => e.code === "sequence-mismatch");
  });

  Deno.test(`${name(layer)}: size limits follow both maxbufs`, () => {
    const { client, server } = layers(layer.qop, layer.cipher, 1024);
    const largest = new Uint8Array(client.maxPlaintextSize).fill(0x41);
    const wrapped = client.wrap(largest);
    // The wrapped buffer plus its 4-byte length fits the peer's maxbuf.
    assert.ok(wrapped.length + 4 <= 1024, `${wrapped.length}`);
    assert.deepEqual(server.unwrap(wrapped), largest);
    assert.throws(
      () => client.wrap(new Uint8Array(client.maxPlaintextSize + 1)),
      (e: SaslError) => e.code === "buffer-too-large",
    );
    assert.throws(
      () => server.unwrap(new Uint8Array(1025)),
      (e: SaslError) => e.code === "buffer-too-large",
    );
  });

  Deno.test(`${name(layer)}: short and mistyped buffers are refused`, () => {
    for (const buffer of [new Uint8Array(0), new Uint8Array(15), new Uint8Array(40)]) {
      const { server } = layers(layer.qop, layer.cipher);
      assert.throws(
        () => server.unwrap(buffer),
        (e: SaslError) => e.code === "integrity-check-failed",
      );
    }
  });
}

for (const layer of LAYERS) {
  Deno.test(`${name(layer)}: minIncomingSize is the wrapped empty message, and a frame shorter is refused as it is cut`, () => {
    const { client, server } = layers(layer.qop, layer.cipher);
    const min = server.minIncomingSize!;
    assert.equal(min, layer.cipher === "des" || layer.cipher === "3des" ? 22 : 16);
    const empty = client.wrap(new Uint8Array(0));
    assert.equal(empty.length, min);
    assert.deepEqual(server.unwrap(empty), new Uint8Array(0));
    assert.throws(
      () => server.unwrap(new Uint8Array(min - 1)),
      (e: SaslError) => e.code === "integrity-check-failed",
    );
    const decoder = new FrameDecoder(server.maxIncomingSize, min);
    // Only the 4-byte length of a buffer one byte too short: refused before its bytes arrive.
    assert.throws(
      () => decoder.push(Uint8Array.of(0, 0, 0, min - 1)),
      (e: SaslError) => e.code === "integrity-check-failed",
    );
  });
}

Deno.test("client and server keys differ per direction: a reflected buffer is refused", () => {
  for (const layer of LAYERS) {
    const { client } = layers(layer.qop, layer.cipher);
    const wrapped = client.wrap(bytes("QUIT\r\n"));
    assert.throws(() => client.unwrap(wrapped), SaslError, name(layer));
  }
});

Deno.test("RC4 keystream and DES IV carry across buffers: equal messages wrap differently", () => {
  for (const cipher of DIGEST_CIPHERS) {
    const { client } = layers("auth-conf", cipher);
    const a = client.wrap(bytes("NOOP\r\n"));
    const b = client.wrap(bytes("NOOP\r\n"));
    assert.notDeepEqual(a.subarray(0, a.length - 6), b.subarray(0, b.length - 6), cipher);
  }
});

Deno.test("a security layer over a framed stream, chunked arbitrarily", () => {
  const { client, server } = layers("auth-conf", "3des");
  const lines = ["EHLO x\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n", "DATA\r\n"];
  const wire = Uint8Array.from(lines.flatMap((l) => [...frame(client.wrap(bytes(l)))]));
  const decoder = new FrameDecoder(server.maxIncomingSize);
  const received: string[] = [];
  for (let i = 0; i < wire.length; i += 5) {
    for (const buffer of decoder.push(wire.subarray(i, i + 5))) {
      received.push(text(server.unwrap(buffer)));
    }
  }
  assert.deepEqual(received, lines);
  assert.equal(decoder.pendingLength, 0);
});

Deno.test("FrameDecoder refuses an oversize length before its bytes arrive", () => {
  const decoder = new FrameDecoder(8192);
  // "MAIL" read as a length: what Sendmail saw from Net::SMTP after agreeing to a layer.
  assert.throws(
    () => decoder.push(bytes("MAIL FROM:<a@b>\r\n")),
    (e: SaslError) => e.code === "buffer-too-large" && /1296124236/.test(e.message),
  );
  assert.throws(() => new FrameDecoder(0), (e: SaslError) => e.code === "invalid-argument");
});

Deno.test("DES keys: 7 bytes spread over 8 with odd parity, as Cyrus and the JDK do", () => {
  assert.deepEqual(expandDesKey(new Uint8Array(7).fill(0xff)), new Uint8Array(8).fill(0xfe));
  assert.deepEqual(expandDesKey(new Uint8Array(7)), new Uint8Array(8).fill(0x01));
  // 0x80 in the first byte stays in the first; 0x01 in the last moves to bit 1 of the eighth.
  assert.deepEqual(
    expandDesKey(new Uint8Array([0x80, 0, 0, 0, 0, 0, 0x01])),
    new Uint8Array([0x80, 1, 1, 1, 1, 1, 1, 0x02]),
  );
  for (let i = 0; i < 50; i++) {
    const key = expandDesKey(crypto.getRandomValues(new Uint8Array(7)));
    for (const b of key) {
      let ones = 0;
      for (let bit = 0; bit < 8; bit++) ones += (b >> bit) & 1;
      assert.equal(ones % 2, 1);
    }
  }
});

Deno.test("layer properties describe the agreement", () => {
  const { client } = layers("auth-conf", "rc4-40");
  const layer: SecurityLayer = client;
  assert.equal(layer.qop, "auth-conf");
  assert.equal(layer.cipher, "rc4-40");
  assert.equal(layer.maxIncomingSize, 65536);
  assert.equal(layer.maxPlaintextSize, 65536 - 29);
  const integrity = layers("auth-int").client;
  assert.equal(integrity.cipher, undefined);
  assert.equal(integrity.maxPlaintextSize, 65536 - 20);
});
