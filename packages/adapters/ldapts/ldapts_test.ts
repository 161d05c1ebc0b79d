// saslBind against a fake ldapts client whose "server" is a saslkit server mechanism: the
// success data path (through the message parser events), a wrong or missing server signature,
// a client without a parser, refusals and the fallback.

import { deepEqual, equal, rejects } from "node:assert/strict";
import { EventEmitter } from "node:events";
import {
  defineMechanism,
  MechanismRegistry,
  type SaslError,
  type ServerMechanism,
} from "@saslkit/sasl";
import { scramSha256Mechanism } from "@saslkit/sasl/scram";
import { saslBind } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function fakeClient(options: {
  server?: () => ServerMechanism;
  tamper?: (final: string) => string;
  parser?: boolean;
  refuse?: Record<string, number>;
}) {
  const parser = new EventEmitter();
  let server: ServerMechanism | undefined;
  const calls: string[] = [];
  let unbound = false;
  const client = {
    messageParser: options.parser === false ? undefined : parser,
    unbind: () => {
      unbound = true;
      return Promise.resolve();
    },
    async bindSASL(mechanism: string, password = "") {
      calls.push(mechanism);
      const code = options.refuse?.[mechanism];
      if (code !== undefined) throw Object.assign(new Error("refused"), { code });
      server ??= options.server!();
      const step = await server.next(enc.encode(password));
      if (!step.done) {
        throw Object.assign(new Error("in progress"), {
          code: 14,
          name: "SaslBindInProgressError",
          response: { data: [dec.decode(step.challenge)] },
        });
      }
      const final = dec.decode(step.challenge ?? new Uint8Array(0));
      parser.emit("message", {
        protocolOperation: 0x61,
        status: 0,
        data: [options.tamper ? options.tamper(final) : final],
      });
    },
  };
  return { client, calls, unbound: () => unbound };
}

const credentials = { username: "user", password: "pencil" };
const scram = () =>
  scramSha256Mechanism.createServer(
    { password: (u) => (u === "user" ? "pencil" : undefined) },
    { service: "ldap", host: "localhost" },
  );

Deno.test("ldapts: SCRAM-SHA-256 through repeated bindSASL calls, success data verified", async () => {
  const { client, calls, unbound } = fakeClient({ server: scram });
  const result = await saslBind(client, { mechanisms: ["SCRAM-SHA-256"], credentials });
  deepEqual([result.mechanism, calls, unbound()], ["SCRAM-SHA-256", [
    "SCRAM-SHA-256",
    "SCRAM-SHA-256",
  ], false]);
});

Deno.test("ldapts: a wrong or missing server signature fails closed and unbinds", async () => {
  for (
    const [tamper, code] of [
      [
        (f: string) => f.slice(0, 2) + (f[2] === "A" ? "B" : "A") + f.slice(3),
        "server-verification-failed",
      ],
      [() => "", "server-not-verified"],
    ] as const
  ) {
    const { client, unbound } = fakeClient({ server: scram, tamper });
    await rejects(saslBind(client, { mechanisms: ["SCRAM-SHA-256"], credentials }), { code });
    equal(unbound(), true, code);
  }
  // A client whose parser the adapter cannot read: never reported as bound.
  const { client, unbound } = fakeClient({ server: scram, parser: false });
  await rejects(saslBind(client, { mechanisms: ["SCRAM-SHA-256"], credentials }), {
    code: "server-not-verified",
  });
  equal(unbound(), true);
});

Deno.test("ldapts: refusals map to codes; a refused mechanism falls back, wrong credentials do not", async () => {
  const refused = fakeClient({ server: scram, refuse: { "SCRAM-SHA-1": 7 } });
  const result = await saslBind(refused.client, {
    mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"],
    credentials,
  });
  equal(result.mechanism, "SCRAM-SHA-256");
  deepEqual(result.failed.map((f) => [f.mechanism, f.error.code]), [[
    "SCRAM-SHA-1",
    "server-rejected",
  ]]);

  const wrong = fakeClient({ server: scram, refuse: { "SCRAM-SHA-1": 49 } });
  await rejects(
    saslBind(wrong.client, { mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"], credentials }),
    { code: "authentication-failed" },
  );
  deepEqual(wrong.calls, ["SCRAM-SHA-1"]);
  const authz = fakeClient({ refuse: { "SCRAM-SHA-256": 50 } });
  await rejects(saslBind(authz.client, { mechanisms: ["SCRAM-SHA-256"], credentials }), {
    code: "authorization-failed",
  });
});

Deno.test("ldapts: bad input is a typed error", async () => {
  await rejects(saslBind({} as never, { credentials }), { code: "invalid-argument" });
  const { client } = fakeClient({ server: scram });
  // No list and no search(): the adapter cannot read the root DSE.
  await rejects(saslBind(client, { credentials }), { code: "invalid-argument" });
  // PLAIN without TLS is skipped, and then nothing is left.
  await rejects(
    saslBind(client, { mechanisms: ["PLAIN"], credentials }),
    (e: SaslError) => e.code === "invalid-argument" && /PLAIN \(needs-tls\)/.test(e.message),
  );
});

Deno.test("ldapts: a message that is not UTF-8 is refused, not corrupted by ldapts's strings", async () => {
  const binary = defineMechanism({
    ...scramSha256Mechanism,
    name: "X-BINARY",
    createClient: () => ({
      name: "X-BINARY",
      properties: scramSha256Mechanism.properties,
      start: () => new Uint8Array([0x6e, 0xff, 0xfe]),
      next: () => new Uint8Array(0),
      finish: () => ({ mechanism: "X-BINARY", qop: "auth" }),
    }),
  });
  const { client, calls } = fakeClient({ server: scram });
  await rejects(
    saslBind(client, {
      mechanisms: ["X-BINARY"],
      credentials,
      registry: new MechanismRegistry([binary]),
    }),
    { code: "invalid-argument" },
  );
  deepEqual(calls, []);
});
