// Runs @saslkit/sasl where only web-standard APIs exist: in a browser page, in a dedicated Web
// Worker, and under Bun. It takes the module namespace, so it cannot tell a bundle from a
// tarball; it imports nothing, so the runtime cannot lend it node:assert or Buffer.
//
// Round trips prove the two sides agree; the known answers (RFC 2831 §4, RFC 2195 §2, and the
// Cyrus SASL transcripts of packages/sasl/testdata/cyrus/) prove they agree with everyone else,
// so a hash or cipher that miscomputes on this engine cannot pass unnoticed.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text) => encoder.encode(text);
const text = (data) => decoder.decode(data);

function check(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function equal(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(
      `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

function sameBytes(actual, expected, message) {
  check(actual instanceof Uint8Array, `${message}: not a Uint8Array`);
  const a = Array.from(actual).join(",");
  const e = Array.from(expected).join(",");
  if (a !== e) throw new Error(`${message}: expected [${e}], got [${a}]`);
}

function throwsCode(sasl, fn, code, message) {
  try {
    fn();
  } catch (error) {
    check(error instanceof sasl.SaslError, `${message}: threw ${error}, not a SaslError`);
    equal(error.code, code, `${message}: error code`);
    return;
  }
  throw new Error(`${message}: did not throw ${code}`);
}

// `a=b,c="d"` → Map; enough for what DIGEST-MD5 peers write.
function directives(message) {
  const out = new Map();
  for (const m of text(message).matchAll(/([A-Za-z-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))/g)) {
    out.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]);
  }
  return out;
}

function base64(sasl) {
  equal(
    sasl.encodeBase64(bytes("\0tim\0tanstaaftanstaaf")),
    "AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
    "encode",
  );
  equal(
    text(sasl.decodeBase64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")),
    "\0tim\0tanstaaftanstaaf",
    "decode",
  );
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let length = 0; length <= all.length; length += 37) {
    const part = all.subarray(0, length);
    sameBytes(sasl.decodeBase64(sasl.encodeBase64(part)), part, `base64 round trip of ${length}`);
  }
  equal(sasl.encodeBase64(new Uint8Array(0)), "", "encode empty");
  for (const bad of ["AAE", "AA=A", "A===", "AAE=\n", " AAE", "AA-_", "AAF=", "AAEC===="]) {
    throwsCode(sasl, () => sasl.decodeBase64(bad), "invalid-base64", `decodeBase64(${bad})`);
  }
}

function framing(sasl) {
  const wire = sasl.frame(new Uint8Array([1, 2, 3]));
  sameBytes(wire, new Uint8Array([0, 0, 0, 3, 1, 2, 3]), "frame");
  const frames = new sasl.FrameDecoder(1024);
  equal(frames.push(wire.subarray(0, 5)).length, 0, "half a frame");
  const [whole] = frames.push(wire.subarray(5));
  sameBytes(whole, new Uint8Array([1, 2, 3]), "decoded frame");
  throwsCode(
    sasl,
    () => new sasl.FrameDecoder(8).push(new Uint8Array([0, 0, 0, 9])),
    "buffer-too-large",
    "FrameDecoder limit",
  );
}

function plain(sasl) {
  const client = new sasl.PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
  const server = new sasl.PlainServer({
    verify: (user, password) => user === "tim" && password === "tanstaaftanstaaf",
  });
  const initial = client.start();
  equal(text(initial), "\0tim\0tanstaaftanstaaf", "PLAIN initial response");
  equal(server.next(initial).done, true, "PLAIN done");
  equal(server.outcome().authenticationId, "tim", "PLAIN authenticationId");
  equal(client.finish().qop, "auth", "PLAIN qop");
  const wrong = new sasl.PlainServer({ verify: () => false });
  throwsCode(sasl, () => wrong.next(initial), "authentication-failed", "PLAIN wrong password");
}

function cramMd5(sasl) {
  const challenge = "<1896.697170952@postoffice.reston.mci.net>"; // RFC 2195 §2
  const password = (user) => user === "tim" ? "tanstaaftanstaaf" : undefined;
  const server = new sasl.CramMd5Server({ password, challenge: () => challenge });
  const client = new sasl.CramMd5Client({ username: "tim", password: "tanstaaftanstaaf" });
  equal(client.start(), undefined, "CRAM-MD5 has no initial response");
  const first = server.next(undefined);
  equal(text(first.challenge), challenge, "CRAM-MD5 challenge");
  const response = client.next(first.challenge);
  equal(text(response), "tim b913a602c7eda7a495b4e6e7334d3890", "CRAM-MD5 RFC 2195 response");
  equal(server.next(response).done, true, "CRAM-MD5 done");
  equal(server.outcome().authenticationId, "tim", "CRAM-MD5 authenticationId");
  equal(client.finish().qop, "auth", "CRAM-MD5 qop");
  // A random challenge (crypto.getRandomValues) and a wrong password.
  const random = new sasl.CramMd5Server({ password });
  const bad = new sasl.CramMd5Client({ username: "tim", password: "wrong" });
  bad.start();
  const answer = bad.next(random.next(undefined).challenge);
  throwsCode(sasl, () => random.next(answer), "authentication-failed", "CRAM-MD5 wrong password");
}

function digestRfcExample(sasl) {
  // RFC 2831 §4, IMAP example.
  const client = new sasl.DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "imap",
    host: "elwood.innosoft.com",
    cnonce: () => "OA6MHXh6VqTrRk",
  });
  client.start();
  const response = directives(client.next(bytes(
    'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8',
  )));
  equal(response.get("response"), "d388dad90d4bbd760a152321f2143af7", "RFC 2831 response");
  equal(client.next(bytes("rspauth=ea40f60335c427b5527b84dbabcdfffd")).length, 0, "rspauth");
  equal(client.finish().qop, "auth", "RFC 2831 qop");
}

const MESSAGES = [
  "EHLO client.example.com\r\n",
  "MAIL FROM:<chris@example.com>\r\n",
  "",
  "x".repeat(1000),
  "\u00e9t\u00e9 \u{1F4EC}\r\n",
];

// Client and server both from the module under test; a fresh random nonce and cnonce.
function digestRoundTrip(sasl, qop, cipher) {
  const server = new sasl.DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    realms: ["example.com"],
    qop: ["auth", "auth-int", "auth-conf"],
    ciphers: sasl.allCiphers,
    credentials: (user) => user === "chris" ? { password: "secret" } : undefined,
  });
  const client = new sasl.DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: [qop],
    ciphers: cipher ? sasl.ciphersByName([cipher]) : undefined,
  });
  const name = cipher ?? qop;
  equal(client.start(), undefined, `${name}: no initial response`);
  const final = server.next(client.next(server.next(undefined).challenge));
  equal(final.done, true, `${name}: server done`);
  equal(client.next(final.challenge).length, 0, `${name}: empty answer to rspauth`);
  const mine = client.finish();
  const theirs = server.outcome();
  equal(mine.qop, qop, `${name}: client qop`);
  equal(theirs.qop, qop, `${name}: server qop`);
  equal(mine.cipher, cipher, `${name}: client cipher`);
  equal(theirs.cipher, cipher, `${name}: server cipher`);
  equal(theirs.authenticationId, "chris", `${name}: authenticationId`);
  let buffers = 0;
  for (const message of MESSAGES) {
    const plaintext = bytes(message);
    const up = mine.securityLayer.wrap(plaintext);
    if (qop === "auth-conf" && message.length > 8) {
      check(!text(up).includes(message.slice(0, 8)), `${name}: auth-conf hides the plaintext`);
    }
    sameBytes(theirs.securityLayer.unwrap(up), plaintext, `${name}: client → server`);
    const down = theirs.securityLayer.wrap(plaintext);
    sameBytes(mine.securityLayer.unwrap(down), plaintext, `${name}: server → client`);
    buffers += 2;
  }
  // A flipped bit is caught by the MAC and a replayed buffer by the sequence number; either
  // ends that side's layer, so the server checks one and the client the other.
  const down = theirs.securityLayer.wrap(bytes("250 OK\r\n"));
  sameBytes(mine.securityLayer.unwrap(down), bytes("250 OK\r\n"), `${name}: server → client`);
  const tampered = mine.securityLayer.wrap(bytes("DATA\r\n"));
  tampered[0] ^= 1;
  throwsCode(
    sasl,
    () => theirs.securityLayer.unwrap(tampered),
    "integrity-check-failed",
    `${name}: tampered buffer`,
  );
  throwsCode(sasl, () => mine.securityLayer.unwrap(down), "sequence-mismatch", `${name}: replay`);
  throwsCode(sasl, () => mine.securityLayer.wrap(bytes("QUIT")), "invalid-state", `${name}: dead`);
  return buffers;
}

const SERVICE = "smtp";
const HOST = "mail.example.com";

// Replays one Cyrus-to-Cyrus transcript against a saslkit server and a saslkit client: the
// response, rspauth and every wrapped buffer must match Cyrus's byte for byte.
function cyrusTranscript(sasl, t) {
  const messages = t.messages.map((m) => sasl.decodeBase64(m.base64));
  const challenge = directives(messages[0]);
  const response = directives(messages[1]);
  const qop = t.outcome.server.qop;
  const cipher = t.outcome.server.cipher;
  const replay = (side, layer) => {
    for (const [i, w] of t.wrapped.entries()) {
      const plaintext = sasl.decodeBase64(w.plaintext);
      const wrapped = sasl.decodeBase64(w.wrapped);
      if (w.from === side) {
        sameBytes(layer.wrap(plaintext), wrapped, `${t.name} ${side} wraps #${i}`);
      } else sameBytes(layer.unwrap(wrapped), plaintext, `${t.name} ${side} unwraps #${i}`);
    }
    return t.wrapped.length;
  };

  const server = new sasl.DigestMd5Server({
    service: SERVICE,
    host: HOST,
    realms: [challenge.get("realm")],
    qop: challenge.get("qop").split(","),
    ciphers: sasl.ciphersByName(challenge.get("cipher")?.split(",") ?? []),
    maxbuf: Number(challenge.get("maxbuf") ?? 65536),
    credentials: (user) => user === t.client.username ? { password: t.client.password } : undefined,
    nonce: () => challenge.get("nonce"),
  });
  server.next(undefined);
  const final = server.next(messages[1]);
  equal(final.done, true, `${t.name}: server accepts Cyrus's response`);
  sameBytes(final.challenge, messages[2], `${t.name}: rspauth`);
  equal(server.outcome().cipher, cipher, `${t.name}: server cipher`);
  let buffers = replay("server", server.outcome().securityLayer);

  const client = new sasl.DigestMd5Client({
    username: t.client.username,
    password: t.client.password,
    service: SERVICE,
    host: HOST,
    realm: response.get("realm"),
    qop: [qop],
    ciphers: cipher ? sasl.ciphersByName([cipher]) : undefined,
    maxbuf: t.client.maxbuf,
    cnonce: () => response.get("cnonce"),
  });
  client.start();
  const mine = directives(client.next(messages[0]));
  equal(mine.get("response"), response.get("response"), `${t.name}: client response`);
  client.next(messages[2]);
  equal(client.finish().cipher, cipher, `${t.name}: client cipher`);
  buffers += replay("client", client.finish().securityLayer);
  return buffers;
}

// SCRAM (RFC 7677 §3 known answers, then client<->server through the registry for each hash),
// with ASCII credentials, which need no SASLprep library; a non-ASCII password needs it, and
// where no Buffer exists (a browser without polyfills) fails with its typed error.
async function scram(sasl) {
  const nonce = "rOprNGfwEbeRWgbNEkqO";
  const client = new sasl.ScramClient({
    hash: "SHA-256",
    username: "user",
    password: "pencil",
    nonce,
  });
  equal(text(client.start()), `n,,n=user,r=${nonce}`, "SCRAM client-first");
  const final = await client.next(
    bytes(`r=${nonce}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`),
  );
  equal(
    text(final).split(",p=")[1],
    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "SCRAM-SHA-256 proof (RFC 7677)",
  );
  client.finish(bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  const context = { service: "smtp", host: "mail.example.com" };
  const exchange = async (name, password, stored) => {
    const descriptor = sasl.defaultRegistry.get(name);
    const server = descriptor.createServer({ password: () => stored }, context);
    const c = await descriptor.createClient({ username: "user", password }, context);
    const first = await server.next(c.start());
    const done = await server.next(await c.next(first.challenge));
    equal(done.done, true, `${name}: the server accepts the proof`);
    equal(c.finish(done.challenge).mechanism, name, `${name}: the client verifies the server`);
  };
  const names = ["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"];
  for (const name of names) await exchange(name, "pencil", "pencil");
  let nonAscii;
  if (typeof globalThis.Buffer === "undefined") {
    try {
      await exchange("SCRAM-SHA-256", "päss", "päss");
    } catch (error) {
      check(error instanceof sasl.SaslError, `non-ASCII password: threw ${error}`);
      equal(error.code, "saslprep-unavailable", "non-ASCII password without Buffer");
      check(/Buffer polyfill/.test(error.message), `message: ${error.message}`);
      nonAscii = "non-ASCII password: saslprep-unavailable (no Buffer)";
    }
    check(nonAscii, "a non-ASCII password without Buffer did not fail");
  } else {
    await exchange("SCRAM-SHA-256", "Ⅸ", "IX"); // NFKC: ROMAN NUMERAL NINE is IX
    nonAscii = "non-ASCII password prepared";
  }
  return `SCRAM-SHA-256 (RFC 7677 §3); SCRAM client<->server ${names.join("/")}; ${nonAscii}`;
}

/**
 * Runs every check; throws on the first failure.
 *
 * @param sasl The `@saslkit/sasl` module namespace.
 * @param transcripts Cyrus transcripts (parsed JSON of packages/sasl/testdata/cyrus/*.json).
 * @returns A promise of a one-line summary of what ran.
 */
export default async function smoke(sasl, transcripts) {
  base64(sasl);
  framing(sasl);
  plain(sasl);
  cramMd5(sasl);
  digestRfcExample(sasl);
  let buffers = 0;
  const layers = [["auth-int"], ...sasl.DIGEST_CIPHERS.map((c) => ["auth-conf", c])];
  check(sasl.DIGEST_CIPHERS.length === 5, `DIGEST_CIPHERS: ${sasl.DIGEST_CIPHERS}`);
  for (const [qop, cipher] of layers) buffers += digestRoundTrip(sasl, qop, cipher);
  check(transcripts.length >= 6, `only ${transcripts.length} Cyrus transcripts`);
  let known = 0;
  for (const t of transcripts) known += cyrusTranscript(sasl, t);
  const scramDone = await scram(sasl);
  return `base64, framing, PLAIN, CRAM-MD5 (RFC 2195), DIGEST-MD5 (RFC 2831 §4); ${scramDone}; ` +
    `DIGEST-MD5 client<->server ${layers.map(([q, c]) => c ?? q).join("/")}: ${buffers} buffers; ` +
    `Cyrus transcripts ${transcripts.map((t) => t.name).join("/")}: ${known} buffers`;
}
