// The provider's authenticate() against a fake `saslAuthenticate` shaped like kafkajs's own
// (Kafka BYTES framing both ways, refusals as kafkajs's KafkaJSProtocolError) whose broker is a
// real saslkit server mechanism: SCRAM-SHA-256 and -512, a wrong password, a server that
// cannot prove itself, PLAIN, the configuration checks, and what reaches kafkajs's logger.

import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { Buffer } from "node:buffer";
import kafkajs, { type KafkaConfig } from "kafkajs";
import {
  oauthBearerMechanism,
  plainMechanism,
  type SaslError,
  type ServerMechanism,
} from "@saslkit/sasl";
import { deriveScramCredentials, type ScramHash, ScramServer } from "@saslkit/sasl/scram";
import { type KafkaAuthenticationProviderArgs, saslkitSasl } from "./mod.ts";

// kafkajs is CommonJS and builds its exports by spreading: no named imports of its errors.
const { KafkaJSConnectionError, KafkaJSProtocolError } = kafkajs;
const enc = new TextEncoder();
const dec = new TextDecoder();
const credentials = { username: "user", password: "pencil" };

interface FakeBroker {
  server?: () => ServerMechanism;
  tamper?: (challenge: string, step: number) => string;
  fail?: (step: number) => Error | undefined;
}

function protocolError(type: string, code: number, message: string) {
  return new KafkaJSProtocolError(
    Object.assign(new Error(message), { type, code, retriable: false }),
  );
}

function frame(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  out.set(bytes, 4);
  return out;
}

// What kafkajs's SASLAuthenticator hands a provider: one broker round trip per call.
function fakeArgs(broker: FakeBroker) {
  const sent: string[] = [];
  const logs: string[] = [];
  let server: ServerMechanism | undefined;
  let step = 0;
  const log = (level: string) => (message: string, extra?: object) =>
    void logs.push(`${level} ${message} ${JSON.stringify(extra ?? {})}`);
  const args: KafkaAuthenticationProviderArgs = {
    host: "127.0.0.1",
    port: 9092,
    logger: { debug: log("debug"), error: log("error") },
    saslAuthenticate: async <T>(
      { request, response }: {
        request: { encode(): Buffer | Promise<Buffer> };
        response?: { decode(raw: Buffer): Buffer | Promise<Buffer>; parse(d: Buffer): T };
      },
    ) => {
      const bytes = await request.encode();
      ok(Buffer.isBuffer(bytes), "kafkajs's SaslAuthenticate request needs a Buffer");
      equal(bytes.readInt32BE(0), bytes.length - 4);
      const message = bytes.subarray(4);
      sent.push(dec.decode(message));
      const failure = broker.fail?.(step);
      if (failure) throw failure;
      server ??= broker.server!();
      let answer: Uint8Array;
      try {
        const result = await server.next(message);
        answer = result.challenge ?? new Uint8Array(0);
      } catch {
        // A Kafka broker reports a failed exchange as SASL_AUTHENTICATION_FAILED.
        throw protocolError(
          "SASL_AUTHENTICATION_FAILED",
          58,
          "Authentication failed: Invalid username or password",
        );
      }
      const text = dec.decode(answer);
      if (text.startsWith("e=")) {
        throw protocolError(
          "SASL_AUTHENTICATION_FAILED",
          58,
          `Authentication failed during authentication due to invalid credentials`,
        );
      }
      const tampered = broker.tamper ? enc.encode(broker.tamper(text, step)) : answer;
      step++;
      if (!response) return;
      return response.parse(await response.decode(frame(tampered)));
    },
  };
  return { args, sent, logs };
}

async function scramServer(hash: ScramHash, password = "pencil") {
  const stored = await deriveScramCredentials(password, { hash, iterations: 4096 });
  return () => new ScramServer({ hash, credentials: (u) => u === "user" ? stored : undefined });
}

for (const hash of ["SHA-256", "SHA-512"] as const) {
  const name = `SCRAM-${hash}`;
  Deno.test(`kafkajs: ${name} against a saslkit ScramServer, server verified`, async () => {
    const sasl = saslkitSasl({ mechanism: name, credentials });
    equal(sasl.mechanism, name);
    const { args, sent, logs } = fakeArgs({ server: await scramServer(hash) });
    await sasl.authenticationProvider(args).authenticate();
    equal(sent.length, 2); // client-first, client-final; nothing after the server-final
    match(sent[0], /^n,,n=user,r=/);
    match(sent[1], /^c=biws,r=.*,p=/);
    deepEqual(sasl.lastOutcome, {
      mechanism: name,
      authenticationId: "user",
      qop: "auth",
      iterations: 4096,
    });
    // Nothing secret in kafkajs's logger: no password, no proof.
    const proof = sent[1].slice(sent[1].indexOf(",p=") + 3);
    const all = logs.join("\n");
    ok(!all.includes("pencil") && !all.includes(proof), all);
    match(all, new RegExp(`debug SASL ${name} authentication successful`));
  });

  Deno.test(`kafkajs: ${name} with a wrong password is authentication-failed`, async () => {
    const sasl = saslkitSasl({ mechanism: name, credentials });
    const { args, logs } = fakeArgs({ server: await scramServer(hash, "other") });
    await rejects(sasl.authenticationProvider(args).authenticate(), (e: SaslError) => {
      equal(e.name, "SaslError");
      equal(e.code, "authentication-failed");
      equal((e as unknown as { retriable: boolean }).retriable, false);
      return true;
    });
    const all = logs.join("\n");
    match(all, /error SASL .* authentication failed .*"code":"authentication-failed"/);
    ok(!all.includes("pencil"), all);
  });

  Deno.test(`kafkajs: ${name} server with a wrong signature is refused`, async () => {
    const sasl = saslkitSasl({ mechanism: name, credentials });
    const { args } = fakeArgs({
      server: await scramServer(hash),
      tamper: (text, step) =>
        step === 1 ? `v=${btoa("x".repeat(hash === "SHA-256" ? 32 : 64))}` : text,
    });
    await rejects(sasl.authenticationProvider(args).authenticate(), {
      code: "server-verification-failed",
      retriable: false,
    });
    equal(sasl.lastOutcome, undefined);
  });

  Deno.test(`kafkajs: ${name} server that says nothing where v= belongs`, async () => {
    const sasl = saslkitSasl({ mechanism: name, credentials });
    const { args } = fakeArgs({
      server: await scramServer(hash),
      tamper: (text, step) => step === 1 ? "" : text,
    });
    await rejects(sasl.authenticationProvider(args).authenticate(), {
      code: "server-not-verified",
    });
  });
}

Deno.test("kafkajs: a server e= in the server-final is the typed SCRAM error", async () => {
  const sasl = saslkitSasl({ mechanism: "SCRAM-SHA-256", credentials });
  const { args } = fakeArgs({
    server: await scramServer("SHA-256"),
    tamper: (text, step) => step === 1 ? "e=other-error" : text,
  });
  await rejects(sasl.authenticationProvider(args).authenticate(), {
    code: "server-rejected",
    retriable: false,
  });
});

Deno.test("kafkajs: PLAIN only with ssl, one message, the empty answer is success", async () => {
  throws(() => saslkitSasl({ mechanism: "PLAIN", credentials }), {
    code: "invalid-argument",
    message: /PLAIN: it sends a reusable secret/,
  });
  const sasl = saslkitSasl({ mechanism: "plain", credentials, ssl: true });
  equal(sasl.mechanism, "PLAIN");
  const { args, sent, logs } = fakeArgs({
    server: () =>
      plainMechanism.createServer({ password: () => "pencil" }, {
        service: "kafka",
        host: "127.0.0.1",
        secure: true,
      }),
  });
  await sasl.authenticationProvider(args).authenticate();
  deepEqual(sent, ["\0user\0pencil"]);
  equal(sasl.lastOutcome?.mechanism, "PLAIN");
  ok(!logs.join("\n").includes("pencil"));
  equal(saslkitSasl({ mechanism: "PLAIN", credentials, allowCleartext: true }).mechanism, "PLAIN");
});

Deno.test("kafkajs: OAUTHBEARER from the registry, the token not in the log", async () => {
  const sasl = saslkitSasl({
    mechanism: "OAUTHBEARER",
    credentials: { kind: "oauth", username: "user", token: "tok-123" },
    ssl: true,
  });
  const { args, sent, logs } = fakeArgs({
    server: () =>
      oauthBearerMechanism.createServer({
        token: (t) =>
          t === "tok-123" ? { authenticationId: "user" } : { error: { status: "invalid_token" } },
      }, { service: "kafka", host: "127.0.0.1", secure: true }),
  });
  await sasl.authenticationProvider(args).authenticate();
  equal(sent.length, 1);
  equal(sent[0], "n,a=user,\x01host=127.0.0.1\x01port=9092\x01auth=Bearer tok-123\x01\x01");
  equal(sasl.lastOutcome?.mechanism, "OAUTHBEARER");
  ok(!logs.join("\n").includes("tok-123"));
});

Deno.test("kafkajs: configurations that cannot work are invalid-argument at once", () => {
  for (
    const [options, why] of [
      [{ mechanism: "X-NOPE", credentials }, /X-NOPE: saslkit does not implement it/],
      [{ mechanism: "SCRAM-SHA-256-PLUS", credentials, ssl: true }, /channel binding/],
      [{ credentials: { kind: "oauth", token: "t" } }, /other kind of credentials/],
      [{ mechanism: 7, credentials }, /mechanism name/],
    ] as const
  ) {
    throws(() => saslkitSasl(options as never), { code: "invalid-argument", message: why });
  }
  throws(() => saslkitSasl(undefined as never), { code: "invalid-argument" });
  throws(() => saslkitSasl({} as never), { code: "invalid-argument" });
});

Deno.test("kafkajs: a transport failure stays kafkajs's own (retriable) error", async () => {
  const sasl = saslkitSasl({ mechanism: "SCRAM-SHA-256", credentials });
  const dropped = new KafkaJSConnectionError("Connection closed by the server");
  const { args } = fakeArgs({ fail: () => dropped });
  await rejects(sasl.authenticationProvider(args).authenticate(), (e) => e === dropped);
  const other = protocolError(
    "ILLEGAL_SASL_STATE",
    34,
    "Request is not valid given the current SASL state",
  );
  const refused = fakeArgs({ fail: () => other });
  await rejects(sasl.authenticationProvider(refused.args).authenticate(), {
    code: "server-rejected",
    message: /ILLEGAL_SASL_STATE \(34\)/,
  });
});

Deno.test("kafkajs: a broker answer whose frame is cut short is malformed-challenge", async () => {
  const sasl = saslkitSasl({ mechanism: "SCRAM-SHA-256", credentials });
  const { args } = fakeArgs({});
  args.saslAuthenticate = async ({ response }) => {
    const raw = Buffer.from([0, 0, 0, 9, 0x72, 0x3d]);
    return response!.parse(await response!.decode(raw));
  };
  await rejects(sasl.authenticationProvider(args).authenticate(), {
    code: "malformed-challenge",
  });
});

Deno.test("kafkajs: the config has kafkajs's own type for `sasl`", () => {
  const config: KafkaConfig = {
    brokers: ["127.0.0.1:9092"],
    sasl: saslkitSasl({ credentials }),
  };
  equal(config.sasl?.mechanism, "SCRAM-SHA-512");
});
