// saslkit's own fuzzer: mutated inputs into every parser and state machine of @saslkit/sasl
// (DIGEST-MD5 client and server, PLAIN, LOGIN, CRAM-MD5, SCRAM, the DIGEST-MD5 security layer,
// FrameDecoder, base64). A finding is a throw that is not a SaslError, or one input that costs
// more than 50 ms (three tries, so a pause of a loaded machine is not a finding), or a target
// whose run keeps more than 8 MiB of heap once it is over (after a full garbage collection:
// every state machine and store has a documented bound, so memory that stays is a leak). Runs
// under Deno, which imports the TypeScript sources as they are; the memory check needs
// `--v8-flags=--expose-gc`.
//
//   npm run fuzz                          1,000,000 inputs per target, seed 1
//   deno run -A --v8-flags=--expose-gc scripts/fuzz.mjs [--iterations N] [--seed S] [--target NAME]
//
// packages/sasl/fuzz_test.ts runs a short fixed-seed pass in `npm test`; every finding is kept
// there as a test with the input that showed it.
import {
  allCiphers,
  ciphersByName,
  CramMd5Client,
  CramMd5Server,
  decodeBase64,
  defaultRegistry,
  DigestMd5Client,
  DigestMd5NonceStore,
  DigestMd5Server,
  frame,
  FrameDecoder,
  LoginClient,
  LoginServer,
  PlainClient,
  PlainServer,
  SaslError,
} from "../packages/sasl/mod.ts";
import {
  deriveScramCredentials,
  InMemoryScramCache,
  ScramClient,
  ScramServer,
} from "../packages/sasl/scram/mod.ts";
import { DigestSecurityLayer } from "../packages/sasl/digest_md5/_layer.ts";

const enc = new TextEncoder();
const SLOW_MS = 50;
/** The heap a target's whole run may keep once it is over. */
export const RETAINED_LIMIT = 8 * 1024 * 1024;

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  '"',
  "\\",
  ",",
  "=",
  " ",
  "\t",
  "\r\n",
  "\0",
  "realm=",
  "nonce=",
  "qop=",
  "cipher=",
  "maxbuf=",
  "charset=utf-8",
  "algorithm=md5-sess",
  "rspauth=",
  "response=",
  "nc=",
  "cnonce=",
  "digest-uri=",
  "authzid=",
  "stale=true",
  "auth-conf",
  "auth-int",
  "3des",
  "rc4-40",
  "r=",
  "s=",
  "i=",
  "p=",
  "v=",
  "e=",
  "c=",
  "n,,",
  "y,,",
  "p=tls-unique,,",
  "a=",
  "m=",
  "=2C",
  "=3D",
  "=",
  "\u00e9",
  "\u{1f600}",
  "\uffff",
  "99999999999",
  "-1",
  "0",
  "4294967296",
  "00000000",
  "ffffffff",
].map((t) => enc.encode(t));
const INVALID = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]];

/** One mutation (or a few) of a seed; sometimes a splice with another seed. */
export function mutate(rand, seed, seeds) {
  let bytes = seed.slice();
  const rounds = 1 + Math.floor(rand() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 10)) {
      case 0: // flip a bit
        if (bytes.length) bytes[at % bytes.length] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1: // set a random byte
        if (bytes.length) bytes[at % bytes.length] = Math.floor(rand() * 256);
        break;
      case 2: { // insert random bytes
        const n = 1 + Math.floor(rand() * 8);
        const add = new Uint8Array(n).map(() => Math.floor(rand() * 256));
        bytes = join(bytes.subarray(0, at), add, bytes.subarray(at));
        break;
      }
      case 3: { // delete a range
        const n = Math.floor(rand() * 16);
        bytes = join(bytes.subarray(0, at), bytes.subarray(at + n));
        break;
      }
      case 4: { // duplicate a range
        const n = Math.floor(rand() * 32);
        bytes = join(bytes.subarray(0, at + n), bytes.subarray(at, at + n), bytes.subarray(at + n));
        break;
      }
      case 5: // an interesting token
        bytes = join(
          bytes.subarray(0, at),
          TOKENS[Math.floor(rand() * TOKENS.length)],
          bytes.subarray(at),
        );
        break;
      case 6: // invalid UTF-8
        bytes = join(
          bytes.subarray(0, at),
          new Uint8Array(INVALID[Math.floor(rand() * INVALID.length)]),
          bytes.subarray(at),
        );
        break;
      case 7: { // a long run of one byte: what makes a parser quadratic
        const n = Math.floor(rand() * (rand() < 0.1 ? 70000 : 3000));
        const b = [0x22, 0x5c, 0x2c, 0x3d, 0x20, 0x61, 0x00][Math.floor(rand() * 7)];
        bytes = join(bytes.subarray(0, at), new Uint8Array(n).fill(b), bytes.subarray(at));
        break;
      }
      case 8: { // splice with another seed
        const other = seeds[Math.floor(rand() * seeds.length)];
        const from = Math.floor(rand() * (other.length + 1));
        bytes = join(bytes.subarray(0, at), other.subarray(from));
        break;
      }
      default: // truncate
        bytes = bytes.subarray(0, at).slice();
    }
  }
  return bytes;
}

function join(...parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

// ---- the targets: each has seeds (valid inputs) and run(input), which may throw SaslError ----
const NONCE = "OA6MG9tEQGm2hh";
const digestServer = (extra = {}) =>
  new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    qop: ["auth", "auth-int", "auth-conf"],
    ciphers: allCiphers,
    nonce: () => NONCE,
    credentials: (u) => (u === "chris" ? { password: "secret" } : undefined),
    ...extra,
  });
const sharedNonces = new DigestMd5NonceStore({ maxEntries: 1000 });
let nonceCount = 0;
const digestClient = (qop = ["auth"]) =>
  new DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop,
    ciphers: allCiphers,
    cnonce: () => "OA6MHXh6VqTrRk",
  });

function digestExchange(qop, cipher) {
  const server = digestServer(cipher ? { ciphers: ciphersByName([cipher]) } : {});
  const client = new DigestMd5Client({
    username: "chris",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: [qop],
    ciphers: cipher ? ciphersByName([cipher]) : undefined,
    cnonce: () => "OA6MHXh6VqTrRk",
  });
  client.start();
  const challenge = server.next(undefined).challenge;
  const response = client.next(challenge);
  const last = server.next(response);
  client.next(last.challenge);
  return {
    challenge,
    response,
    rspauth: last.challenge,
    client: client.finish(),
    server: server.outcome(),
  };
}

/** Builds the targets (SCRAM seeds need an await). */
export async function targets() {
  const auth = digestExchange("auth");
  const conf = digestExchange("auth-conf", "3des");
  // Layers built directly from a fixed H(A1): a fresh pair costs a few hashes, not an exchange.
  const ha1 = new Uint8Array(16).map((_, i) => i * 17);
  const layer = (side, qop, cipher) =>
    new DigestSecurityLayer({
      ha1,
      side,
      qop,
      cipher: cipher ? ciphersByName([cipher])[0] : undefined,
      ownMaxbuf: 65536,
      peerMaxbuf: 65536,
    });
  const layerSeeds = [];
  for (
    const [qop, cipher] of [["auth-int"], ["auth-conf", "rc4"], ["auth-conf", "rc4-40"], [
      "auth-conf",
      "des",
    ], ["auth-conf", "3des"]]
  ) {
    const client = layer("client", qop, cipher);
    for (const text of ["", "MAIL FROM:<a@b>\r\n", "x".repeat(300)]) {
      layerSeeds.push({ qop, cipher, buffer: client.wrap(enc.encode(text)) });
    }
  }
  const stored = await deriveScramCredentials("pencil", {
    hash: "SHA-256",
    iterations: 4096,
    salt: new Uint8Array(16).fill(7),
  });
  const scramCache = new InMemoryScramCache({ maxEntries: 4 });
  const scramClient = () =>
    new ScramClient({
      hash: "SHA-256",
      username: "user",
      password: "pencil",
      nonce: "fyko+d2lbbFgONRv9qkxdawL",
      cache: scramCache,
    });
  const scramServer = () =>
    new ScramServer({
      hash: "SHA-256",
      credentials: (u) => (u === "user" ? stored : undefined),
      nonce: "3rfcNHYJY1ZVvWVs7j",
    });
  const sc = scramClient();
  const ss = scramServer();
  const clientFirst = sc.start();
  const serverFirst = (await ss.next(clientFirst)).challenge;
  const clientFinal = await sc.next(serverFirst);
  const serverFinal = (await ss.next(clientFinal)).challenge;

  return {
    "digest-md5 client: challenge": {
      seeds: [auth.challenge, conf.challenge],
      run: (input) => {
        const c = digestClient(["auth-conf", "auth-int", "auth"]);
        c.start();
        c.next(input);
      },
    },
    "digest-md5 client: rspauth": {
      seeds: [auth.rspauth],
      run: (input) => {
        const c = digestClient();
        c.start();
        c.next(auth.challenge);
        c.next(input);
        c.finish();
      },
    },
    "digest-md5 server: response": {
      seeds: [auth.response, conf.response],
      run: (input) => {
        const s = digestServer();
        s.next(undefined);
        s.next(input);
      },
    },
    "digest-md5 server: initial response (subsequent auth)": {
      seeds: [auth.response],
      run: (input) => digestServer({ nonceStore: new DigestMd5NonceStore() }).next(input),
    },
    // One store for the whole run, as a server keeps it: every challenge adds a nonce, and the
    // memory check holds the store to its bound (maxEntries).
    "digest-md5 server: shared nonce store": {
      seeds: [auth.response],
      run: (input) => {
        const s = digestServer({ nonceStore: sharedNonces, nonce: () => `n${nonceCount++}` });
        s.next(undefined);
        s.next(input);
      },
    },
    "digest-md5 layer: unwrap": {
      seeds: layerSeeds.map((s) => s.buffer),
      run: (input, rand) => {
        const { qop, cipher } = layerSeeds[Math.floor(rand() * layerSeeds.length)];
        layer("server", qop, cipher).unwrap(input);
      },
    },
    "frame decoder": {
      seeds: [
        join(frame(enc.encode("hello")), frame(new Uint8Array(40))),
        frame(new Uint8Array(0)),
      ],
      run: (input, rand) => {
        const d = new FrameDecoder(4096, 1 + Math.floor(rand() * 32));
        for (let i = 0; i < input.length;) {
          const n = 1 + Math.floor(rand() * 64);
          d.append(input.subarray(i, i + n));
          while (d.next() !== undefined);
          i += n;
        }
      },
    },
    "plain server": {
      seeds: [enc.encode("\0tim\0tanstaaftanstaaf"), enc.encode("admin\0tim\0tanstaaftanstaaf")],
      run: (input) => {
        new PlainServer({ verify: (u, p) => u === "tim" && p === "tanstaaftanstaaf" }).next(input);
      },
    },
    "plain client": {
      seeds: [new Uint8Array(0), enc.encode("x")],
      run: (input) => {
        const c = new PlainClient({ username: "tim", password: "x" });
        c.start();
        if (input.length % 2) c.next(input);
        c.finish(input);
      },
    },
    "login client": {
      seeds: [enc.encode("Username:"), enc.encode("Password:"), enc.encode("VXNlcm5hbWU6")],
      run: (input) => {
        const c = new LoginClient({ username: "tim", password: "x" });
        c.start();
        c.next(input);
        c.next(input);
        c.finish();
      },
    },
    "login server": {
      seeds: [enc.encode("tim"), enc.encode("tanstaaftanstaaf")],
      run: (input) => {
        const s = new LoginServer({ verify: () => true });
        s.next(undefined);
        s.next(input);
        s.next(input);
        s.outcome();
      },
    },
    "cram-md5 client": {
      seeds: [enc.encode("<1896.697170952@postoffice.reston.mci.net>")],
      run: (input) => {
        const c = new CramMd5Client({ username: "tim", password: "tanstaaftanstaaf" });
        c.start();
        c.next(input);
      },
    },
    "cram-md5 server": {
      seeds: [enc.encode("tim b913a602c7eda7a495b4e6e7334d3890")],
      run: (input) => {
        const s = new CramMd5Server({
          password: (u) => (u === "tim" ? "tanstaaftanstaaf" : undefined),
          challenge: () => "<1896.697170952@postoffice.reston.mci.net>",
        });
        s.next(undefined);
        s.next(input);
      },
    },
    "scram client: server-first": {
      seeds: [serverFirst],
      run: async (input) => {
        const c = scramClient();
        c.start();
        await c.next(input);
      },
    },
    "scram client: server-final": {
      seeds: [serverFinal],
      run: async (input) => {
        const c = scramClient();
        c.start();
        await c.next(serverFirst);
        c.finish(input);
      },
    },
    "scram server: client-first": {
      seeds: [clientFirst],
      run: async (input) => {
        await scramServer().next(input);
      },
    },
    "scram server: client-final": {
      seeds: [clientFinal],
      run: async (input) => {
        const s = scramServer();
        await s.next(clientFirst);
        await s.next(input);
      },
    },
    ...(await registryTargets(["OAUTHBEARER", "XOAUTH2", "EXTERNAL", "ANONYMOUS"])),
    "base64": {
      seeds: [enc.encode("dGltIHRhbnN0YWFmdGFuc3RhYWY="), enc.encode("YQ==")],
      run: (input) => decodeBase64(new TextDecoder().decode(input)),
    },
  };
}

// Mechanisms fuzzed through their registry descriptors: seeds are the messages of one clean
// exchange; the server gets mutated client messages, the client mutated server messages.
async function registryTargets(names) {
  const context = { service: "smtp", host: "mail.example.com" };
  const credentials = {
    oauth: { kind: "oauth", username: "chris", token: "ya29.token" },
    external: { kind: "external" },
    anonymous: { kind: "anonymous", trace: "guest" },
  };
  const store = {
    token: (t) =>
      t === "ya29.token" ? { authenticationId: "chris" } : { error: { status: "invalid_token" } },
    externalIdentity: "chris",
    anonymous: () => true,
  };
  const out = {};
  for (const name of names) {
    const d = defaultRegistry.get(name);
    const creds = credentials[d.credentialKind];
    const clientSeeds = [];
    const serverSeeds = [new Uint8Array(0)];
    const client = await d.createClient(creds, context);
    const server = d.createServer(store, context);
    let message = client.start() ?? new Uint8Array(0);
    for (let i = 0; i < 4; i++) {
      clientSeeds.push(message);
      const step = await server.next(message);
      if (step.challenge) serverSeeds.push(step.challenge);
      if (step.done) break;
      message = await client.next(step.challenge ?? new Uint8Array(0));
    }
    out[`${name.toLowerCase()} server`] = {
      seeds: clientSeeds,
      run: async (input) => {
        const s = d.createServer(store, context);
        const step = await s.next(input);
        if (!step.done) await s.next(input);
        else s.outcome();
      },
    };
    out[`${name.toLowerCase()} client`] = {
      seeds: serverSeeds,
      run: async (input) => {
        const c = await d.createClient(creds, context);
        c.start();
        await c.next(input);
        c.finish(input);
      },
    };
  }
  return out;
}

/**
 * Runs `iterations` mutated inputs into each target and returns the findings (at most a few
 * per target). Deterministic for a given seed.
 */
export async function fuzz({ seed = 1, iterations = 1000, only, onProgress, all } = {}) {
  all ??= await targets();
  const findings = [];
  for (const [name, target] of Object.entries(all)) {
    if (only && !name.includes(only)) continue;
    const heapBefore = retainedHeap();
    const rand = prng(seed ^ hashName(name));
    const count = iterations;
    let found = 0;
    let accepted = 0;
    const started = performance.now();
    for (let i = 0; i < count && found < 5; i++) {
      const input = mutate(
        rand,
        target.seeds[Math.floor(rand() * target.seeds.length)],
        target.seeds,
      );
      const problem = await tryInput(target, input, prng(i));
      if (problem === null) accepted++;
      if (problem) {
        found++;
        findings.push({ target: name, input, ...problem });
      }
    }
    const ms = performance.now() - started;
    const retained = retainedHeap() - heapBefore;
    if (retained > RETAINED_LIMIT) {
      findings.push({ target: name, input: new Uint8Array(0), problem: "memory", bytes: retained });
    }
    onProgress?.({ target: name, inputs: count, accepted, ms, retained, findings: found });
  }
  return findings;
}

/** The memory in use after a full collection; the fuzzer refuses to run without one. */
export function retainedHeap() {
  const gc = globalThis.gc;
  if (typeof gc !== "function") {
    throw new Error(
      "the fuzzer's memory check needs a runtime started with --v8-flags=--expose-gc",
    );
  }
  gc();
  gc();
  // Typed arrays' bytes live outside the JavaScript heap ("external").
  const { heapUsed, external } = (globalThis.Deno ?? globalThis.process).memoryUsage();
  return heapUsed + external;
}

// The process's CPU time in ms where the runtime tells it (Node, Deno, Bun), else wall time: a
// process that the machine's load keeps waiting is not an input that costs 50 ms. (Two findings
// of the first million-input run, at load 12 on 2 cores, were such waits; fuzz_test.ts replays
// both inputs.)
const cpuUsage = globalThis.process?.cpuUsage?.bind(globalThis.process);
function now() {
  if (!cpuUsage) return performance.now();
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
}

/** Runs one input; returns what is wrong with how it was handled, if anything. */
export async function tryInput(target, input, rand) {
  for (let attempt = 0;; attempt++) {
    const t = now();
    let ok = true;
    try {
      await target.run(input, rand);
    } catch (error) {
      if (!(error instanceof SaslError)) {
        return { problem: "throw", error: String(error?.stack ?? error) };
      }
      ok = false;
    }
    const ms = now() - t;
    // null: accepted without error; undefined: refused with a SaslError.
    if (ms <= SLOW_MS) return ok ? null : undefined;
    if (attempt === 2) return { problem: "slow", ms };
  }
}

function hashName(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

if (import.meta.main) {
  const args = Deno.args;
  const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const iterations = Number(arg("--iterations", "1000000"));
  const seed = Number(arg("--seed", "1"));
  const findings = await fuzz({
    seed,
    iterations,
    only: arg("--target", undefined),
    onProgress: (p) =>
      console.log(
        `${p.target}: ${p.inputs} inputs (${p.accepted} accepted) in ${
          (p.ms / 1000).toFixed(1)
        } s, ${(p.retained / 1024).toFixed(0)} KiB kept, ${p.findings} finding(s)`,
      ),
  });
  if (findings.length) Deno.mkdirSync(".tmp/fuzz-findings", { recursive: true });
  for (const [i, f] of findings.entries()) {
    // The whole input, to replay it and keep it as a test.
    const file = `.tmp/fuzz-findings/${seed}-${i}.bin`;
    Deno.writeFileSync(file, f.input);
    console.log(`  saved ${file}`);
    const hex = Array.from(f.input.subarray(0, 256), (b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
    console.log(
      `FINDING ${f.target}: ${f.problem} ${
        f.ms ? `${f.ms.toFixed(0)} ms` : f.bytes ? `${f.bytes} bytes kept` : f.error
      }\n  input (${f.input.length} bytes): ${hex}`,
    );
  }
  console.log(
    `${findings.length === 0 ? "no findings" : `${findings.length} finding(s)`} (seed ${seed})`,
  );
  if (findings.length) Deno.exit(1);
}
