import assert from "node:assert/strict";
import { defaultRegistry } from "./default_registry.ts";
import {
  ANONYMOUS_IDENTITY,
  AnonymousClient,
  anonymousMechanism,
  AnonymousServer,
} from "./anonymous.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function assertSaslError(fn: () => unknown, code: SaslErrorCode): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

Deno.test("ANONYMOUS: RFC 4505 §4 example, byte for byte", () => {
  // C: A002 AUTHENTICATE ANONYMOUS / S: + / C: c2lyaGM= / S: A003 OK Welcome, ...
  const client = new AnonymousClient({ trace: "sirhc" });
  assert.equal(client.name, "ANONYMOUS");
  const server = new AnonymousServer();
  const challenge = server.next(undefined);
  assert.deepEqual(challenge, { challenge: new Uint8Array(0), done: false });
  const message = client.start();
  assert.equal(encodeBase64(message), "c2lyaGM=");
  assert.deepEqual(client.next(challenge.challenge!), message);
  assert.deepEqual(server.next(decodeBase64("c2lyaGM=")), { done: true });
  assert.equal(server.trace, "sirhc");
  const outcome = { mechanism: "ANONYMOUS", authenticationId: "anonymous", qop: "auth" };
  assert.deepEqual(server.outcome(), outcome);
  assert.deepEqual(client.finish(), outcome);
  assert.equal(ANONYMOUS_IDENTITY, "anonymous");
});

Deno.test("ANONYMOUS client: properties", () => {
  assert.deepEqual(new AnonymousClient().properties, {
    sendsCleartextPassword: false,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: true,
    channelBinding: false,
    carriesAuthorizationId: false,
  });
});

/** Traces RFC 4505 allows. */
const VALID_TRACES = [
  "sirhc",
  "x",
  "a".repeat(255),
  "😀".repeat(255), // 255 characters, 1020 octets
  "Jürgen Müller, 例え",
  "chris@example.com",
  "first.last+tag@sub.example.com",
  '"quoted local@part"@example.com',
  '"esc\\"aped"@example.com',
  "user@[192.0.2.1]",
  "!#$%&'*+-/=?^_`{|}~@example",
];

/** Traces RFC 4505 forbids. */
const INVALID_TRACES = [
  "a".repeat(256),
  "😀".repeat(256),
  "tab\there",
  "new\nline",
  "nul\0",
  "del\x7f",
  "c1\x85",
  "joiner\u200d",
  "bom\ufeff",
  "private\ue000",
  "noncharacter\ufdd0",
  "noncharacter\u{1fffe}",
  "replacement\ufffd",
  "ltr\u200e",
  "rlo\u202e",
  "combining\u0340",
  "tag\u{e0041}",
  "plane15\u{f0000}",
  "lone\ud800",
  "@",
  "user@",
  "@example.com",
  "two@at@signs",
  "spa ce@example.com",
  "dot.@example.com",
  "user@exa mple.com",
  "<chris@example.com>",
  "chris@example.com (Chris)",
];

Deno.test("ANONYMOUS client: traces", async (t) => {
  for (const trace of VALID_TRACES) {
    await t.step(`valid: ${JSON.stringify(trace).slice(0, 40)}`, () => {
      assert.equal(decode(new AnonymousClient({ trace }).start()), trace);
    });
  }
  // U+FE6B SMALL COMMERCIAL AT is not "@": the trace is a token. U+200B is not prohibited.
  assert.equal(
    decode(new AnonymousClient({ trace: "small\ufe6bat\u200b" }).start()),
    "small\ufe6bat\u200b",
  );
  for (const trace of INVALID_TRACES) {
    await t.step(`invalid: ${JSON.stringify(trace).slice(0, 40)}`, () => {
      assertSaslError(() => new AnonymousClient({ trace }), "invalid-argument");
    });
  }
  assertSaslError(() => new AnonymousClient({ trace: 5 as unknown as string }), "invalid-argument");
  // No trace at all: an empty message.
  assert.deepEqual(new AnonymousClient().start(), new Uint8Array(0));
  assert.deepEqual(new AnonymousClient({ trace: "" }).start(), new Uint8Array(0));
});

Deno.test("ANONYMOUS client: state machine", () => {
  const fresh = () => new AnonymousClient({ trace: "sirhc" });
  const client = fresh();
  client.start();
  client.next(new Uint8Array(0));
  assertSaslError(() => client.next(new Uint8Array(0)), "invalid-state");
  client.finish();
  assertSaslError(() => client.finish(), "invalid-state");
  assertSaslError(() => fresh().finish(), "invalid-state");
  assertSaslError(() => fresh().next(new Uint8Array(0)), "invalid-state");
  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");
  const challenged = fresh();
  challenged.start();
  assertSaslError(() => challenged.next(text.encode("who?")), "malformed-challenge");
  const data = fresh();
  data.start();
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");
});

Deno.test("ANONYMOUS server: traces", async (t) => {
  for (const trace of VALID_TRACES) {
    await t.step(`valid: ${JSON.stringify(trace).slice(0, 40)}`, () => {
      const seen: (string | undefined)[] = [];
      const server = new AnonymousServer({ checkTrace: (x) => (seen.push(x), true) });
      assert.equal(server.next(text.encode(trace)).done, true);
      assert.deepEqual(seen, [trace]);
      assert.equal(server.trace, trace);
    });
  }
  const none = new AnonymousServer({ checkTrace: (x) => x === undefined });
  assert.equal(none.next(new Uint8Array(0)).done, true);
  assert.equal(none.trace, undefined);
  assert.equal(none.outcome().authenticationId, "anonymous");
});

/** Malformed ANONYMOUS messages and the exact code each must produce. */
export const ANONYMOUS_MALFORMED: readonly {
  name: string;
  input: Uint8Array;
  code: SaslErrorCode;
}[] = [
  ...INVALID_TRACES.filter((trace) => !trace.includes("\ud800")).map((trace) => ({
    name: JSON.stringify(trace).slice(0, 40),
    input: text.encode(trace),
    code: ([...trace].length > 255 ? "message-too-long" : "malformed-response") as SaslErrorCode,
  })),
  { name: "invalid UTF-8", input: new Uint8Array([0x61, 0xff]), code: "malformed-response" },
  {
    name: "truncated UTF-8",
    input: new Uint8Array([0x61, 0xe2, 0x82]),
    code: "malformed-response",
  },
  {
    name: "UTF-8 surrogate",
    input: new Uint8Array([0xed, 0xa0, 0x80]),
    code: "malformed-response",
  },
  { name: "1021 octets", input: text.encode("a".repeat(1021)), code: "message-too-long" },
  { name: "256 characters", input: text.encode("é".repeat(256)), code: "message-too-long" },
];

Deno.test("ANONYMOUS server: malformed messages", async (t) => {
  for (const { name, input, code } of ANONYMOUS_MALFORMED) {
    await t.step(name, () => {
      let asked = false;
      const server = new AnonymousServer({ checkTrace: () => (asked = true) });
      assertSaslError(() => server.next(input), code);
      assert.equal(asked, false, "the hook never sees a malformed trace");
      assertSaslError(() => server.outcome(), "invalid-state");
      assertSaslError(() => server.next(new Uint8Array(0)), "invalid-state");
    });
  }
});

Deno.test("ANONYMOUS server: the trace check", () => {
  const refused = new AnonymousServer({ checkTrace: (trace) => trace !== undefined });
  assertSaslError(() => refused.next(new Uint8Array(0)), "authentication-failed");
  assertSaslError(() => refused.outcome(), "invalid-state");
  assert.equal(refused.trace, undefined);
  const boom = new Error("log full");
  const throwing = new AnonymousServer({
    checkTrace: () => {
      throw boom;
    },
  });
  assert.throws(() => throwing.next(text.encode("x")), (error: unknown) => {
    assert.ok(error instanceof SaslError);
    assert.equal(error.code, "authentication-failed");
    assert.equal(error.cause, boom);
    return true;
  });
  const truthy = new AnonymousServer({ checkTrace: () => 1 as unknown as boolean });
  assertSaslError(() => truthy.next(text.encode("x")), "authentication-failed");
});

Deno.test("ANONYMOUS server: without an initial response it sends an empty challenge", () => {
  const server = new AnonymousServer();
  assert.deepEqual(server.next(undefined), { challenge: new Uint8Array(0), done: false });
  assertSaslError(() => server.next(undefined), "invalid-state");
  assertSaslError(() => server.outcome(), "invalid-state");
  assert.equal(server.next(new Uint8Array(0)).done, true);
  assertSaslError(() => server.next(new Uint8Array(0)), "invalid-state");
});

Deno.test("ANONYMOUS: client and server round trips", () => {
  for (const trace of [undefined, ...VALID_TRACES]) {
    const server = new AnonymousServer();
    const client = new AnonymousClient({ trace });
    assert.equal(server.next(client.start()).done, true);
    assert.equal(server.trace, trace);
    assert.deepEqual(server.outcome(), client.finish());
  }
});

Deno.test("ANONYMOUS descriptor", async () => {
  const context = { service: "imap", host: "imap.example.com" };
  assert.equal(anonymousMechanism.name, "ANONYMOUS");
  assert.equal(anonymousMechanism.credentialKind, "anonymous");
  assert.deepEqual(anonymousMechanism.properties, new AnonymousClient().properties);
  assert.equal(defaultRegistry.get("anonymous"), anonymousMechanism);
  const { order } = defaultRegistry.negotiate({
    offered: ["PLAIN", "ANONYMOUS"],
    credentials: { kind: "anonymous" },
    secure: false,
  });
  assert.deepEqual(order.map((m) => m.name), ["ANONYMOUS"]);

  const client = await anonymousMechanism.createClient(
    { kind: "anonymous", trace: "sirhc" },
    context,
  );
  assert.equal(encodeBase64(client.start()!), "c2lyaGM=");
  const silent = await anonymousMechanism.createClient({ kind: "anonymous" }, context);
  assert.deepEqual(silent.start(), new Uint8Array(0));
  await assert.rejects(
    async () =>
      await anonymousMechanism.createClient({ kind: "anonymous", trace: "a\nb" }, context),
    (error: unknown) => error instanceof SaslError && error.code === "invalid-argument",
  );
  await assert.rejects(
    async () => await anonymousMechanism.createClient({ kind: "external" }, context),
    (error: unknown) => error instanceof SaslError && error.code === "invalid-argument",
  );

  // Without store.anonymous, ANONYMOUS cannot be built.
  assertSaslError(() => anonymousMechanism.createServer({}, context), "invalid-argument");
  const traces: string[] = [];
  const server = anonymousMechanism.createServer({
    anonymous: (trace) => (traces.push(trace), trace !== "banned@example.com"),
  }, context);
  assert.equal((await server.next(new Uint8Array(0))).done, true);
  const banned = anonymousMechanism.createServer(
    { anonymous: (t) => t !== "banned@example.com" },
    context,
  );
  assertSaslError(() => banned.next(text.encode("banned@example.com")), "authentication-failed");
  assert.deepEqual(traces, [""]);

  assert.equal(anonymousMechanism.redact(text.encode("sirhc"), {}), "sirhc");
  assert.equal(anonymousMechanism.redact(new Uint8Array(0), {}), "(empty)");
});

Deno.test("ANONYMOUS and its trace check: random messages give a verdict or a SaslError", () => {
  let state = 0x2545f491;
  const random = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const pieces = ["a", "@", ".", '"', "\\", "[", "]", " ", "é", "😀", "\u200d", "\ufffd", "\x7f"];
  for (let i = 0; i < 3000; i++) {
    let trace = "";
    for (let n = random(12); n > 0; n--) trace += pieces[random(pieces.length)];
    const bytes = random(10) === 0
      ? new Uint8Array([random(256), random(256)])
      : text.encode(trace);
    let clientAccepts = true;
    try {
      new AnonymousClient({ trace });
    } catch (error) {
      assert.ok(error instanceof SaslError);
      clientAccepts = false;
    }
    let serverAccepts = true;
    try {
      new AnonymousServer().next(bytes);
    } catch (error) {
      assert.ok(error instanceof SaslError);
      serverAccepts = false;
    }
    // Client and server apply the same rules to the same text.
    if (decode(bytes) === trace) assert.equal(serverAccepts, clientAccepts, JSON.stringify(trace));
  }
});
