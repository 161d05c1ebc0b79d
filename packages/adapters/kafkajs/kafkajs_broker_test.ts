// A real kafkajs 2.2.4 client (`admin().connect()`: ApiVersions, SaslHandshake, SaslAuthenticate)
// against a fake broker on 127.0.0.1 whose SASL side is a saslkit server: success with
// SCRAM-SHA-256 and -512 (SaslAuthenticate v1, and the raw frames of pre-1.0 brokers), a wrong
// password and a lying server (rejected, not retried, rejecting with the SaslError), and nothing
// secret in kafkajs's debug log.

import { equal, ok, rejects } from "node:assert/strict";
import kafkajs from "kafkajs";
import { plainMechanism, type SaslError } from "@saslkit/sasl";
import { deriveScramCredentials, type ScramHash, ScramServer } from "@saslkit/sasl/scram";
import { startFakeBroker } from "../testdata/kafka_broker.ts";
import { saslkitSasl } from "./mod.ts";

const { Kafka, logLevel } = kafkajs;
const credentials = { username: "user", password: "pencil" };

async function scramBroker(options: {
  password?: string;
  legacy?: boolean;
  tamper?: (message: Uint8Array, step: number) => Uint8Array;
}) {
  const stored = new Map<string, unknown>();
  for (const hash of ["SHA-256", "SHA-512"] as const) {
    stored.set(hash, await deriveScramCredentials(options.password ?? "pencil", { hash }));
  }
  return startFakeBroker({
    mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"],
    legacy: options.legacy,
    tamper: options.tamper,
    server: (mechanism) => {
      if (mechanism === "PLAIN") {
        return plainMechanism.createServer({ password: () => "pencil" }, {
          service: "kafka",
          host: "127.0.0.1",
        });
      }
      const hash = mechanism.slice("SCRAM-".length) as ScramHash;
      return new ScramServer({
        hash,
        credentials: (u) => u === "user" ? stored.get(hash) as never : undefined,
      });
    },
  });
}

function client(port: number, sasl: ReturnType<typeof saslkitSasl>, logs: string[]) {
  return new Kafka({
    clientId: "saslkit-test",
    brokers: [`127.0.0.1:${port}`],
    sasl,
    connectionTimeout: 2000,
    authenticationTimeout: 2000,
    retry: { initialRetryTime: 20, maxRetryTime: 50, retries: 2 },
    logLevel: logLevel.DEBUG,
    logCreator: () => (entry) => void logs.push(JSON.stringify(entry)),
  });
}

// connect() rejects with the provider's SaslError itself (kafkajs's retrier bails with it).
function saslError(error: unknown): SaslError {
  ok(error instanceof Error && error.name === "SaslError", String(error));
  return error as SaslError;
}

for (const legacy of [false, true]) {
  const how = legacy ? "raw SASL frames (pre-1.0 broker)" : "SaslAuthenticate v1";
  for (const hash of ["SHA-256", "SHA-512"] as const) {
    const name = `SCRAM-${hash}`;
    Deno.test(`kafkajs broker: ${name} over ${how} connects, verified`, async () => {
      const broker = await scramBroker({ legacy });
      const logs: string[] = [];
      const sasl = saslkitSasl({ mechanism: name, credentials });
      const admin = client(broker.port, sasl, logs).admin();
      try {
        await admin.connect();
        equal(broker.handshakes(), 1);
        equal(broker.successes(), 1);
        equal(sasl.lastOutcome?.mechanism, name);
        const proof = broker.received[1].slice(broker.received[1].indexOf(",p=") + 3);
        ok(proof.length > 20);
        const all = logs.join("\n");
        ok(all.includes("authentication successful (saslkit)"), all);
        ok(!all.includes("pencil") && !all.includes(proof), "a secret in kafkajs's log");
      } finally {
        await admin.disconnect();
        await broker.close();
      }
    });
  }
}

Deno.test("kafkajs broker: a wrong password rejects connect() once, not retried", async () => {
  const broker = await scramBroker({ password: "other" });
  const logs: string[] = [];
  const admin = client(broker.port, saslkitSasl({ mechanism: "SCRAM-SHA-256", credentials }), logs)
    .admin();
  try {
    const error = await admin.connect().then(() => undefined, (e) => e);
    ok(error, "connect() resolved with a wrong password");
    equal(saslError(error).code, "authentication-failed");
    equal(broker.handshakes(), 1);
    equal(broker.successes(), 0);
    ok(!logs.join("\n").includes("pencil"));
  } finally {
    await admin.disconnect();
    await broker.close();
  }
});

Deno.test("kafkajs broker: a server-final with a wrong signature fails closed", async () => {
  const enc = new TextEncoder();
  const broker = await scramBroker({
    tamper: (m, step) => step === 1 ? enc.encode(`v=${btoa("x".repeat(64))}`) : m,
  });
  const sasl = saslkitSasl({ mechanism: "SCRAM-SHA-512", credentials });
  const admin = client(broker.port, sasl, []).admin();
  try {
    const error = await admin.connect().then(() => undefined, (e) => e);
    ok(error, "connect() resolved although the server did not prove itself");
    equal(saslError(error).code, "server-verification-failed");
    equal(broker.handshakes(), 1);
    equal(sasl.lastOutcome, undefined);
  } finally {
    await admin.disconnect();
    await broker.close();
  }
});

Deno.test("kafkajs broker: PLAIN (ssl claimed by the caller) connects", async () => {
  const broker = await scramBroker({});
  const logs: string[] = [];
  const sasl = saslkitSasl({ mechanism: "PLAIN", credentials, allowCleartext: true });
  const admin = client(broker.port, sasl, logs).admin();
  try {
    await admin.connect();
    equal(broker.received[0], "\0user\0pencil");
    ok(!logs.join("\n").includes("pencil"), "the password in kafkajs's log");
  } finally {
    await admin.disconnect();
    await broker.close();
  }
});

Deno.test("kafkajs broker: a mechanism the broker does not enable never reaches saslkit", async () => {
  const broker = await startFakeBroker({
    mechanisms: ["PLAIN"],
    server: () => {
      throw new Error("unreachable");
    },
  });
  const admin = client(broker.port, saslkitSasl({ credentials }), []).admin();
  try {
    await rejects(admin.connect(), /does not support the requested SASL mechanism/);
    equal(broker.received.length, 0);
  } finally {
    await admin.disconnect();
    await broker.close();
  }
});
