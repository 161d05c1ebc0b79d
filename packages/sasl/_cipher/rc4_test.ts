import assert from "node:assert/strict";
import { hex } from "../_bytes.ts";
import { SaslError } from "../error.ts";
import { Rc4 } from "./rc4.ts";

function fromHex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)?.map((byte) => parseInt(byte, 16)) ?? []);
}

const utf8 = (text: string) => new TextEncoder().encode(text);

// RFC 6229 §2, keystream at the listed offsets (hex) for the "0x0102..." keys and the second key
// series, for the key lengths DIGEST-MD5 uses (40, 56, 128 bits) and 64 bits. Transcribed from
// the RFC and compared line by line with OpenSSL's RC4 (Node 20 with --openssl-legacy-provider).
const RFC6229: Record<string, string> = {
  "0102030405": `
    0000 b2396305f03dc027ccc3524a0a1118a8
    0010 6982944f18fc82d589c403a47a0d0919
    00f0 28cb1132c96ce286421dcaadb8b69eae
    0100 1cfcf62b03eddb641d77dfcf7f8d8c93
    01f0 42b7d0cdd918a8a33dd51781c81f4041
    0200 6459844432a7da923cfb3eb4980661f6
    02f0 ec10327bde2beefd18f9277680457e22
    0300 eb62638d4f0ba1fe9fca20e05bf8ff2b
    03f0 45129048e6a0ed0b56b490338f078da5
    0400 30abbcc7c20b01609f23ee2d5f6bb7df
    05f0 3294f744d8f9790507e70f62e5bbceea
    0600 d8729db41882259bee4f825325f5a130
    07f0 1eb14a0c13b3bf47fa2a0ba93ad45b8b
    0800 cc582f8ba9f265e2b1be9112e975d2d7
    0bf0 f2e30f9bd102ecbf75aaade9bc35c43c
    0c00 ec0e11c479dc329dc8da7968fe965681
    0ff0 068326a2118416d21f9d04b2cd1ca050
    1000 ff25b58995996707e51fbdf08b34d875
  `,
  "01020304050607": `
    0000 293f02d47f37c9b633f2af5285feb46b
    0010 e620f1390d19bd84e2e0fd752031afc1
    00f0 914f02531c9218810df60f67e338154c
    0100 d0fdb583073ce85ab83917740ec011d5
    01f0 75f81411e871cffa70b90c74c592e454
    0200 0bb87202938dad609e87a5a1b079e5e4
    02f0 c2911246b612e7e7b903dfeda1dad866
    0300 32828f91502b6291368de8081de36fc2
    03f0 f3b9a7e3b297bf9ad804512f9063eff1
    0400 8ecb67a9ba1f55a5a067e2b026a3676f
    05f0 d2aa902bd42d0d7cfd340cd45810529f
    0600 78b272c96e42eab4c60bd914e39d06e3
    07f0 f4332fd31a079396ee3cee3f2a4ff049
    0800 05459781d41fda7f30c1be7e1246c623
    0bf0 adfd3868b8e51485d5e610017e3dd609
    0c00 ad26581c0c5be45f4cea01db2f3805d5
    0ff0 f3172ceffc3b3d997c85ccd5af1a950c
    1000 e74b0b9731227fd37c0ec08a47ddd8b8
  `,
  "0102030405060708": `
    0000 97ab8a1bf0afb96132f2f67258da15a8
    0010 8263efdb45c4a18684ef87e6b19e5b09
    00f0 9636ebc9841926f4f7d1f362bddf6e18
    0100 d0a990ff2c05fef5b90373c9ff4b870a
    01f0 73239f1db7f41d80b643c0c52518ec63
    0200 163b319923a6bdb4527c626126703c0f
    02f0 49d6c8af0f97144a87df21d91472f966
    0300 44173a103b6616c5d5ad1cee40c863d0
    03f0 273c9c4b27f322e4e716ef53a47de7a4
    0400 c6d0e7b226259fa9023490b26167ad1d
    05f0 1fe8986713f07c3d9ae1c163ff8cf9d3
    0600 8369e1a965610be887fbd0c79162aafb
    07f0 0a0127abb44484b9fbef5abcae1b579f
    0800 c2cdadc6402e8ee866e1f37bdb47e42c
    0bf0 26b51ea37df8e1d6f76fc3b66a7429b3
    0c00 bc7683205d4f443dc1f29dda3315c87b
    0ff0 d5fa5a3469d29aaaf83d23589db8c85b
    1000 3fb46e2c8f0f068edce8cdcd7dfc5862
  `,
  "0102030405060708090a0b0c0d0e0f10": `
    0000 9ac7cc9a609d1ef7b2932899cde41b97
    0010 5248c4959014126a6e8a84f11d1a9e1c
    00f0 065902e4b620f6cc36c8589f66432f2b
    0100 d39d566bc6bce3010768151549f3873f
    01f0 b6d1e6c4a5e4771cad79538df295fb11
    0200 c68c1d5c559a974123df1dbc52a43b89
    02f0 c5ecf88de897fd57fed301701b82a259
    0300 eccbe13de1fcc91c11a0b26c0bc8fa4d
    03f0 e7a72574f8782ae26aabcf9ebcd66065
    0400 bdf0324e6083dcc6d3cedd3ca8c53c16
    05f0 b40110c4190b5622a96116b0017ed297
    0600 ffa0b514647ec04f6306b892ae661181
    07f0 d03d1bc03cd33d70dff9fa5d71963ebd
    0800 8a44126411eaa78bd51e8d87a8879bf5
    0bf0 fabeb76028ade2d0e48722e46c4615a3
    0c00 c05d88abd50357f935a63c59ee537623
    0ff0 ff38265c1642c1abe8d3c2fe5e572bf8
    1000 a36a4c301ae8ac13610ccbc12256cacc
  `,
  "833222772a": `
    0000 80ad97bdc973df8a2e879e92a497efda
    0010 20f060c2f2e5126501d3d4fea10d5fc0
    00f0 faa148e99046181fec6b2085f3b20ed9
    0100 f0daf5bab3d596839857846f73fbfe5a
    01f0 1c7e2fc4639232fe297584b296996bc8
    0200 3db9b249406cc8edffac55ccd322ba12
    02f0 e4f9f7e0066154bbd125b745569bc897
    0300 75d5ef262b44c41a9cf63ae14568e1b9
    03f0 6da453dbf81e82334a3d8866cb50a1e3
    0400 7828d074119cab5c22b294d7a9bfa0bb
    05f0 adb89cea9a15fbe617295bd04b8ca05c
    0600 6251d87fd4aaae9a7e4ad5c217d3f300
    07f0 e7119bd6dd9b22afe8f89585432881e2
    0800 785b60fd7ec4e9fcb6545f350d660fab
    0bf0 afecc037fdb7b0838eb3d70bcd268382
    0c00 dbc1a7b49d57358cc9fa6d61d73b7cf0
    0ff0 6349d126a37afcba89794f9804914fdc
    1000 bf42c3018c2f7c66bfde524975768115
  `,
  "1910833222772a": `
    0000 bc9222dbd3274d8fc66d14ccbda6690b
    0010 7ae627410c9a2be693df5bb7485a63e3
    00f0 3f0931aa03defb300f060103826f2a64
    0100 beaa9ec8d59bb68129f3027c96361181
    01f0 74e04db46d28648d7dee8a0064b06cfe
    0200 9b5e81c62fe023c55be42f87bbf932b8
    02f0 ce178fc1826efecbc182f57999a46140
    0300 8bdf55cd55061c06dba6be11de4a578a
    03f0 626f5f4dce652501f3087d39c92cc349
    0400 42daac6a8f9ab9a7fd137c6037825682
    05f0 cc03fdb79192a207312f53f5d4dc33d9
    0600 f70f14122a1c98a3155d28b8a0a8a41d
    07f0 2a3a307ab2708a9c00fe0b42f9c2d6a1
    0800 862617627d2261eab0b1246597ca0ae9
    0bf0 55f877ce4f2e1ddbbf8e13e2cde0fdc8
    0c00 1b1556cb935f173337705fbb5d501fc1
    0ff0 ecd0e96602be7f8d5092816cccf2c2e9
    1000 027881fab4993a1c262024a94fff3f61
  `,
  "ebb46227c6cc8b37641910833222772a": `
    0000 720c94b63edf44e131d950ca211a5a30
    0010 c366fdeacf9ca80436be7c358424d20b
    00f0 b3394a40aabf75cba42282ef25a0059f
    0100 4847d81da4942dbc249defc48c922b9f
    01f0 08128c469f275342adda202b2b58da95
    0200 970dacef40ad98723bac5d6955b81761
    02f0 3cb89993b07b0ced93de13d2a11013ac
    0300 ef2d676f1545c2c13dc680a02f4adbfe
    03f0 b60595514f24bc9fe522a6cad7393644
    0400 b515a8c5011754f59003058bdb81514e
    05f0 3c70047e8cbc038e3b9820db601da495
    0600 1175da6ee756de46a53e2b075660b770
    07f0 00a542bba02111cc2c65b38ebdba587e
    0800 5865fdbb5b48064104e830b380f2aede
    0bf0 34b21ad2ad44e999db2d7f0863f0d9b6
    0c00 84a9218fc36e8a5f2ccfbeae53a27d25
    0ff0 a2221a11b833ccb498a59540f0545f4a
    1000 5bbeb4787d59e5373fdbea6c6f75c29b
  `,
};

for (const [key, table] of Object.entries(RFC6229)) {
  Deno.test(`Rc4: RFC 6229 keystream, ${key.length * 4}-bit key ${key}`, () => {
    const rows = table.trim().split("\n").map((row) => row.trim().split(" "));
    const keystream = new Rc4(fromHex(key)).process(new Uint8Array(4112));
    for (const [offset, expected] of rows) {
      const start = parseInt(offset, 16);
      assert.equal(hex(keystream.subarray(start, start + 16)), expected, `offset ${offset}`);
    }
  });
}

Deno.test("Rc4: RFC 6229 offsets reached through many small calls", () => {
  // The keystream must not depend on how the stream is cut: offset 1536 after calls of 1 to 17 bytes.
  const rc4 = new Rc4(fromHex("0102030405"));
  let produced = 0;
  for (let size = 1; produced + size <= 1536; size = (size % 17) + 1) {
    rc4.process(new Uint8Array(size));
    produced += size;
  }
  rc4.process(new Uint8Array(1536 - produced));
  assert.equal(hex(rc4.process(new Uint8Array(16))), "d8729db41882259bee4f825325f5a130");
});

Deno.test("Rc4: the classic ASCII vectors", () => {
  const cases = [
    ["Key", "Plaintext", "bbf316e8d940af0ad3"],
    ["Wiki", "pedia", "1021bf0420"],
    ["Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5"],
  ];
  for (const [key, plaintext, ciphertext] of cases) {
    assert.equal(hex(new Rc4(utf8(key)).process(utf8(plaintext))), ciphertext);
    assert.deepEqual(new Rc4(utf8(key)).process(fromHex(ciphertext)), utf8(plaintext));
  }
});

Deno.test("Rc4: processing in chunks equals processing at once", () => {
  const key = crypto.getRandomValues(new Uint8Array(16));
  const data = crypto.getRandomValues(new Uint8Array(5000));
  const whole = new Rc4(key).process(data);
  const chunked = new Rc4(key);
  const parts: number[] = [];
  for (
    const [start, end] of [[0, 0], [0, 1], [1, 7], [7, 64], [64, 64], [64, 1000], [1000, 5000]]
  ) {
    parts.push(...chunked.process(data.subarray(start, end)));
  }
  assert.deepEqual(new Uint8Array(parts), whole);
});

Deno.test("Rc4: decrypting with a second state restores the plaintext; input is not modified", () => {
  const key = utf8("session key 16 b");
  const sender = new Rc4(key);
  const receiver = new Rc4(key);
  for (const message of ["first buffer", "", "second, longer buffer ".repeat(20)]) {
    const plaintext = utf8(message);
    const copy = plaintext.slice();
    const ciphertext = sender.process(plaintext);
    assert.deepEqual(plaintext, copy);
    assert.deepEqual(receiver.process(ciphertext), plaintext);
  }
});

// processInto runs four bytes per step as 32-bit words when input and output start on a 4-byte
// boundary (copying misaligned input into an aligned output first), and byte by byte otherwise;
// one byte per call never reaches the word path, so it is the reference here.
function byteByByte(key: Uint8Array, data: Uint8Array): Uint8Array {
  const rc4 = new Rc4(key);
  const out = new Uint8Array(data.length);
  for (let n = 0; n < data.length; n++) rc4.processInto(data.subarray(n, n + 1), out.subarray(n));
  return out;
}

Deno.test("Rc4: every input and output offset mod 4 and odd lengths give the same stream", () => {
  const key = fromHex("0102030405060708090a0b0c0d0e0f10");
  const data = crypto.getRandomValues(new Uint8Array(600));
  const expected = byteByByte(key, data);
  for (const inOffset of [0, 1, 2, 3, 4, 5]) {
    for (const outOffset of [0, 1, 2, 3, 4]) {
      // Calls of 0 to 13 bytes, then the rest: word path, tail, word path again.
      const input = new Uint8Array(data.length + inOffset);
      input.set(data, inOffset);
      const view = input.subarray(inOffset);
      const output = new Uint8Array(data.length + outOffset).subarray(outOffset);
      const rc4 = new Rc4(key);
      let at = 0;
      for (let size = 0; at + size <= 300; size = (size + 5) % 14) {
        rc4.processInto(view.subarray(at, at + size), output.subarray(at));
        at += size;
      }
      rc4.processInto(view.subarray(at), output.subarray(at));
      assert.equal(hex(output), hex(expected), `input at +${inOffset}, output at +${outOffset}`);
      assert.equal(hex(view), hex(data), "the input is left unchanged");
    }
  }
});

Deno.test("Rc4: in place, at every offset mod 4, equals the byte-by-byte stream", () => {
  const key = fromHex("833222772a");
  const data = crypto.getRandomValues(new Uint8Array(257));
  const expected = byteByByte(key, data);
  for (const offset of [0, 1, 2, 3]) {
    const buffer = new Uint8Array(data.length + offset);
    buffer.set(data, offset);
    const view = buffer.subarray(offset);
    const rc4 = new Rc4(key);
    rc4.processInto(view.subarray(0, 7), view.subarray(0, 7));
    rc4.processInto(view.subarray(7), view.subarray(7));
    assert.equal(hex(view), hex(expected), `in place at +${offset}`);
  }
});

Deno.test("Rc4: RFC 6229 keystream read through a misaligned view", () => {
  const key = fromHex("0102030405");
  const zeros = new Uint8Array(4113).subarray(1); // byteOffset 1
  const keystream = new Rc4(key).process(zeros);
  assert.equal(hex(keystream.subarray(0x0ff0, 0x1000)), "068326a2118416d21f9d04b2cd1ca050");
  assert.equal(hex(keystream.subarray(0x1000, 0x1010)), "ff25b58995996707e51fbdf08b34d875");
});

Deno.test("Rc4: a key must be 1 to 256 bytes", () => {
  for (const length of [0, 257]) {
    assert.throws(
      () => new Rc4(new Uint8Array(length)),
      (error: unknown) => error instanceof SaslError && error.code === "invalid-argument",
    );
  }
  new Rc4(new Uint8Array(1));
  new Rc4(new Uint8Array(256));
});

// An independent implementation: OpenSSL's RC4, reached through Node with the legacy provider.
// Skipped where no such Node is on PATH.
async function openSslRc4(cases: { key: string; chunks: string[] }[]): Promise<string[][]> {
  const script = `
    const crypto = require("node:crypto");
    const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify(cases.map(({ key, chunks }) => {
      const rc4 = crypto.createCipheriv("rc4", Buffer.from(key, "hex"), null);
      return chunks.map((chunk) => rc4.update(Buffer.from(chunk, "hex")).toString("hex"));
    })));`;
  const child = new Deno.Command("node", {
    args: ["--openssl-legacy-provider", "-e", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(utf8(JSON.stringify(cases)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

const haveLegacyNode = await openSslRc4([{ key: "00", chunks: ["00"] }]).then(
  (result) => result[0][0] === "de",
  () => false,
);

Deno.test({
  name: "Rc4: matches OpenSSL on random keys of 5, 7 and 16 bytes, in random chunks",
  ignore: !haveLegacyNode,
  fn: async () => {
    const cases = [5, 7, 16, 5, 7, 16].map((keyLength) => {
      const chunks: string[] = [];
      for (let i = 0; i < 8; i++) {
        const [size] = crypto.getRandomValues(new Uint16Array(1));
        chunks.push(hex(crypto.getRandomValues(new Uint8Array(size % 700))));
      }
      return { key: hex(crypto.getRandomValues(new Uint8Array(keyLength))), chunks };
    });
    const expected = await openSslRc4(cases);
    for (const [n, { key, chunks }] of cases.entries()) {
      const rc4 = new Rc4(fromHex(key));
      // Each chunk read at a different offset mod 4 (word path and byte path alike).
      const got = chunks.map((chunk, c) => {
        const bytes = fromHex(chunk);
        const input = new Uint8Array(bytes.length + (c % 4));
        input.set(bytes, c % 4);
        return hex(rc4.process(input.subarray(c % 4)));
      });
      assert.deepEqual(got, expected[n]);
    }
  },
});
