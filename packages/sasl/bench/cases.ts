// The saslkit side of `npm run bench`, and the anchors that run in the same process: bundled by
// bench/run.mjs with esbuild and run under Node, Deno and Bun alike. Prints one JSON object a
// line. Not a test; bench/bench_test.ts runs the quick mode so that it cannot rot.
//
//   <runtime> cases.mjs <warmupMs> <measureMs> <case> [<case>...]
//
// Cases (join with "+" to measure them in alternating slices): exchange | floor | client-step | alt-client-step | layer:<qop>:<cipher|->:<bytes>:
// <c2s|s2c> | scram | native-pbkdf2 | backend
import {
  ciphersByName,
  type DigestCipher,
  DigestMd5Client,
  DigestMd5Server,
  type Qop,
  type SecurityLayer,
} from "../mod.ts";
import { deriveScramCredentials, ScramClient, ScramServer } from "../scram/mod.ts";
import { md5Backend, nobleMd5Backend } from "../_hash.ts";
import { DesCbc, desCbc } from "../_cipher/des.ts";
// @ts-types="./alt_sasl_digest_md5.d.ts"
import AltDigestMd5 from "alt-sasl-digest-md5";

interface NodeCrypto {
  hash(algorithm: string, data: string, encoding: "hex"): string;
  pbkdf2Sync(p: Uint8Array, s: Uint8Array, c: number, len: number, digest: string): Uint8Array;
}
const g = globalThis as {
  Deno?: { args: string[] };
  process?: { argv: string[]; getBuiltinModule?(id: string): unknown };
};
const args = g.Deno?.args ?? g.process!.argv.slice(2);
const [warmupMs, measureMs] = [Number(args[0]), Number(args[1])];
const nodeCrypto = g.process?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;

// Runs op for about `ms` milliseconds; returns operations per second.
async function time(op: () => unknown, ms: number, isAsync = false): Promise<number> {
  const start = performance.now();
  let n = 0;
  let now: number;
  do {
    if (isAsync) await op();
    else for (let i = 0; i < 8; i++) op();
    n += isAsync ? 1 : 8;
    now = performance.now();
  } while (now - start < ms);
  return n / ((now - start) / 1000);
}

// Cases named together ("exchange+floor") are measured in alternating slices, so that a change
// of the machine's load affects a figure and its anchor alike.
interface Waiting {
  op: () => unknown;
  isAsync: boolean;
  resolve(perSecond: number): void;
}
let group: Waiting[] | undefined;
let groupSize = 0;
const SLICES = 10;

function measure(op: () => unknown, isAsync = false): Promise<number> {
  if (group === undefined) {
    return time(op, warmupMs, isAsync).then(() => time(op, measureMs, isAsync));
  }
  return new Promise((resolve) => {
    group!.push({ op, isAsync, resolve });
    if (group!.length === groupSize) runGroup();
  });
}

async function runGroup(): Promise<void> {
  const members = group!;
  group = undefined;
  for (const m of members) await time(m.op, warmupMs, m.isAsync);
  const totals = members.map(() => ({ ops: 0, ms: 0 }));
  for (let slice = 0; slice < SLICES; slice++) {
    for (let i = 0; i < members.length; i++) {
      const start = performance.now();
      const perSecond = await time(members[i].op, measureMs / SLICES, members[i].isAsync);
      const ms = performance.now() - start;
      totals[i].ops += perSecond * ms / 1000;
      totals[i].ms += ms;
    }
  }
  members.forEach((m, i) => m.resolve(totals[i].ops / (totals[i].ms / 1000)));
}

const enc = new TextEncoder();

function pair(qop: Qop, cipher?: DigestCipher) {
  const server = new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    qop: [qop],
    ciphers: cipher ? ciphersByName([cipher]) : undefined,
    maxbuf: 16777215,
    credentials: (user) => user === "smtpuser" ? { password: "secret" } : undefined,
  });
  const client = new DigestMd5Client({
    username: "smtpuser",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: [qop],
    ciphers: cipher ? ciphersByName([cipher]) : undefined,
    maxbuf: 16777215,
  });
  client.start();
  const last = server.next(client.next(server.next(undefined).challenge!));
  client.next(last.challenge!);
  const outcome = client.finish();
  if (!last.done || outcome.qop !== qop) throw new Error("exchange failed");
  return { client: outcome.securityLayer, server: server.outcome().securityLayer };
}

const CHALLENGE = 'realm="mail.example.com",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,' +
  "algorithm=md5-sess";

async function run(name: string, params: string[]): Promise<Record<string, unknown>> {
  switch (name) {
    case "exchange":
      return { perSecond: await measure(() => pair("auth")) };
    case "floor": {
      // The 12 MD5s of both sides of an exchange, with node:crypto's one-shot hash on strings:
      // what no JavaScript DIGEST-MD5 can beat in this runtime.
      if (!nodeCrypto) return { perSecond: null };
      const h = (s: string) => nodeCrypto.hash("md5", s, "hex");
      return {
        perSecond: await measure(() => {
          for (let side = 0; side < 2; side++) {
            const secret = h("smtpuser:mail.example.com:secret");
            const ha1 = h(`${secret}:OA6MG9tEQGm2hh:OA6MHXh6VqTrRk`);
            const a2 = h("AUTHENTICATE:smtp/mail.example.com");
            h(`${ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:${a2}`);
            const r2 = h(":smtp/mail.example.com");
            h(`${ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:${r2}`);
          }
        }),
      };
    }
    case "client-step": {
      const challenge = enc.encode(CHALLENGE);
      return {
        perSecond: await measure(() => {
          const client = new DigestMd5Client({
            username: "smtpuser",
            password: "secret",
            service: "smtp",
            host: "mail.example.com",
            cnonce: () => "OA6MHXh6VqTrRk",
          });
          client.start();
          return client.next(challenge);
        }),
      };
    }
    case "alt-client-step": {
      return {
        perSecond: await measure(() => {
          const m = new AltDigestMd5({ genNonce: () => "OA6MHXh6VqTrRk" });
          m.challenge(CHALLENGE);
          return m.response({
            username: "smtpuser",
            password: "secret",
            serviceType: "smtp",
            host: "mail.example.com",
          });
        }),
      };
    }
    case "layer": {
      const [qop, cipherArg, bytesArg, direction] = params;
      const cipher = cipherArg === "-" ? undefined : cipherArg as DigestCipher;
      const layers = pair(qop as Qop, cipher);
      const [from, to] = direction === "c2s"
        ? [layers.client!, layers.server!]
        : [layers.server!, layers.client!] as SecurityLayer[];
      const data = new Uint8Array(Number(bytesArg));
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255;
      const perSecond = await measure(() => to.unwrap(from.wrap(data)));
      return {
        qop,
        cipher: cipher ?? "",
        bytes: data.length,
        direction,
        mibPerSecond: perSecond * data.length / 1048576,
      }; // deno-fmt-ignore
    }
    case "scram": {
      const stored = await deriveScramCredentials("pencil", {
        hash: "SHA-256",
        iterations: 4096,
        salt: new Uint8Array(16).fill(7),
      });
      const perSecond = await measure(async () => {
        const server = new ScramServer({ hash: "SHA-256", credentials: () => stored });
        const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
        const first = await server.next(client.start());
        const last = await server.next(await client.next(first.challenge!));
        client.finish(last.challenge);
      }, true);
      return { perSecond };
    }
    case "native-pbkdf2": {
      // The runtime's native PBKDF2-HMAC-SHA-256 at 4096 iterations: node:crypto in Node and
      // Bun, WebCrypto in Deno (and browsers). A SCRAM exchange against stored keys runs one.
      const password = enc.encode("pencil");
      const salt = new Uint8Array(16).fill(7);
      if (g.Deno === undefined && nodeCrypto) {
        return {
          api: "node:crypto pbkdf2Sync",
          perSecond: await measure(() => nodeCrypto.pbkdf2Sync(password, salt, 4096, 32, "sha256")),
        };
      }
      const perSecond = await measure(async () => {
        const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
        await crypto.subtle.deriveBits(
          { name: "PBKDF2", hash: "SHA-256", salt, iterations: 4096 },
          key,
          256,
        );
      }, true);
      return { api: "WebCrypto deriveBits", perSecond };
    }
    case "backend": {
      // The portable path and the chosen one agree in this runtime (run by bench_test.ts under
      // Node, Deno and Bun): MD5 of bytes and text, HMAC-MD5 one-shot and keyed.
      const chosen = md5Backend();
      const same = (a: Uint8Array, b: Uint8Array) =>
        a.length === b.length && a.every((x, i) => x === b[i]);
      let agree = true;
      for (let n = 0; n < 3000; n += 97) {
        const bytes = new Uint8Array(n).map((_, i) => (i * 7 + n) & 255);
        const text = "é€" + "x".repeat(n % 50);
        const key = bytes.subarray(0, n % 80);
        // md5Into of the chosen backend and of noble's reused state (the browsers' path).
        const into = new Uint8Array(16);
        const nobleInto = new Uint8Array(16);
        chosen.md5Into(bytes, into);
        nobleMd5Backend.md5Into(bytes, nobleInto);
        agree &&= same(into, nobleMd5Backend.md5([bytes])) && same(nobleInto, into) &&
          same(chosen.md5([bytes, key]), nobleMd5Backend.md5([bytes, key])) &&
          chosen.md5Hex(text) === nobleMd5Backend.md5Hex(text) &&
          same(chosen.hmac(key, [bytes]), nobleMd5Backend.hmac(key, [bytes])) &&
          same(chosen.keyed(key)(key, bytes), nobleMd5Backend.hmac(key, [key, bytes]));
      }
      // The DES chain chosen for this runtime (OpenSSL's in Node and Bun) against the portable
      // one, over a chain of uneven calls, both ways.
      for (const keyLength of [8, 16, 24]) {
        const key = new Uint8Array(keyLength).map((_, i) => i * 29 + 1);
        const iv = new Uint8Array(8).map((_, i) => i * 3);
        const enc1 = desCbc(key, iv, "encrypt");
        const enc2 = new DesCbc(key, iv, "encrypt");
        const dec1 = desCbc(key, iv, "decrypt");
        for (const blocks of [1, 5, 64, 2]) {
          const data = new Uint8Array(8 * blocks).map((_, i) => (i * 13 + blocks) & 255);
          const a = new Uint8Array(data.length);
          enc1.processInto(data, a);
          const b = enc2.process(data);
          const back = new Uint8Array(data.length);
          dec1.processInto(a, back);
          agree &&= same(a, b) && same(back, data);
        }
      }
      return { md5: chosen.name, agree };
    }
    default:
      throw new Error(`unknown case ${name}`);
  }
}

for (const spec of args.slice(2)) {
  const members = spec.split("+");
  if (members.length > 1) {
    group = [];
    groupSize = members.length;
  }
  const results = await Promise.all(members.map((member) => {
    const [name, ...params] = member.split(":");
    return run(name, params).then((result) => ({ case: name, ...result }));
  }));
  for (const result of results) console.log(JSON.stringify(result));
}
