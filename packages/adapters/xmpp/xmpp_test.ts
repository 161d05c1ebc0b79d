// The xmpp.js adapter driven through xmpp.js's own @xmpp/sasl code, with the socket replaced by
// a saslkit server mechanism: what reaches the wire, when success is reported, and every way
// the end of an exchange can be wrong.

import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { client, xml } from "@xmpp/client";
import { decodeBase64, encodeBase64, plainMechanism, type ServerMechanism } from "@saslkit/sasl";
import {
  scramSha1Mechanism,
  scramSha256Mechanism,
  scramSha256PlusMechanism,
} from "@saslkit/sasl/scram";
import { channelBindingsOf, useSaslkit, type XmppSaslkitOptions } from "./mod.ts";

const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const STREAMS = "http://etherx.jabber.org/streams";
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Run {
  restarted: boolean;
  error?: { code?: string; name?: string; message?: string };
  sent: string[];
  names: readonly string[];
  mechanism?: string;
}

/**
 * Offers `offered` to a real xmpp.js client, answers its SASL elements with `server`, and lets
 * `tamper` rewrite the success data. Resolves when xmpp.js restarts the stream (success
 * reported) or emits an error.
 */
async function exchange(options: {
  offered: string[];
  server: (name: string) => ServerMechanism;
  username?: string;
  password?: string;
  secure?: boolean;
  socket?: unknown;
  saslkit?: XmppSaslkitOptions;
  tamper?: (data: Uint8Array | undefined) => Uint8Array | undefined | "failure";
  failure?: string;
}): Promise<Run> {
  const xmpp = client({
    service: "xmpp://127.0.0.1:5222",
    domain: "example.com",
    username: options.username ?? "user",
    password: options.password ?? "pencil",
  });
  // deno-lint-ignore no-explicit-any
  const entity = xmpp as any;
  entity.socket = options.socket ?? { secure: options.secure ?? true };
  const saslkit = useSaslkit(xmpp, options.saslkit);
  const sent: string[] = [];
  let server: ServerMechanism | undefined;
  const reply = (element: ReturnType<typeof xml>) =>
    queueMicrotask(() => entity._onElement(element));
  const respond = async (data: string) => {
    const step = await server!.next(decodeBase64(data === "=" ? "" : data));
    if (options.failure !== undefined) {
      return reply(xml("failure", { xmlns: SASL }, xml(options.failure)));
    }
    if (!step.done) return reply(xml("challenge", { xmlns: SASL }, encodeBase64(step.challenge!)));
    const data2 = options.tamper ? options.tamper(step.challenge) : step.challenge;
    if (data2 === "failure") return reply(xml("failure", { xmlns: SASL }, xml("not-authorized")));
    reply(xml("success", { xmlns: SASL }, data2 ? encodeBase64(data2) : undefined));
  };
  entity.send = (element: ReturnType<typeof xml>) => {
    sent.push(element.toString());
    if (element.is("auth", SASL)) {
      server = options.server(element.attrs.mechanism);
      void respond(element.text());
    } else if (element.is("response", SASL)) void respond(element.text());
    return Promise.resolve();
  };
  return await new Promise<Run>((resolve) => {
    const done = (run: Omit<Run, "sent" | "names" | "mechanism">) => {
      saslkit.detach();
      resolve({ ...run, sent, names: saslkit.names, mechanism: saslkit.outcome?.mechanism });
    };
    entity.restart = () => {
      done({ restarted: true });
      return Promise.resolve();
    };
    xmpp.on("error", (error: Run["error"]) => {
      done({ restarted: false, error: { code: error?.code, name: error?.name } });
    });
    entity._onElement(
      xml(
        "stream:features",
        { "xmlns:stream": STREAMS },
        xml("mechanisms", { xmlns: SASL }, ...options.offered.map((m) => xml("mechanism", {}, m))),
      ),
    );
  });
}

const passwords = { password: (u: string) => (u === "user" ? "pencil" : undefined) };
const scramServer = (name: string): ServerMechanism => {
  const descriptor = name === "SCRAM-SHA-1" ? scramSha1Mechanism : scramSha256Mechanism;
  return descriptor.createServer(passwords, { service: "xmpp", host: "example.com" });
};
const serverSignature = (data: Uint8Array | undefined) => dec.decode(data);

Deno.test("xmpp: useSaslkit replaces xmpp.js's SCRAM-SHA-1 and PLAIN, keeps ANONYMOUS, and detaches", () => {
  const xmpp = client({ service: "xmpp://127.0.0.1:5222", domain: "example.com" });
  // deno-lint-ignore no-explicit-any
  const mechs = (xmpp.saslFactory as any)._mechs as { name: string; mech: unknown }[];
  const before = mechs.slice();
  deepEqual(before.map((m) => m.name), ["SCRAM-SHA-1", "PLAIN", "ANONYMOUS"]);
  const saslkit = useSaslkit(xmpp);
  deepEqual(saslkit.names, [
    "SCRAM-SHA-512-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-1",
    "PLAIN",
  ]);
  equal(mechs.length, 8);
  equal(mechs[7], before[2]);
  // No socket: neither -PLUS nor PLAIN is visible to xmpp.js.
  deepEqual(mechs.map((m) => m.name).filter((n) => !n.startsWith(" ")), [
    "SCRAM-SHA-512",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "ANONYMOUS",
  ]);
  saslkit.detach();
  deepEqual(mechs, before);
});

Deno.test("xmpp: a bad client or mechanism list is a typed error", () => {
  throws(() => useSaslkit({} as never), { code: "invalid-argument" });
  const xmpp = client({ service: "xmpp://127.0.0.1:5222", domain: "example.com" });
  throws(() => useSaslkit(xmpp, { mechanisms: ["X-NOPE"] }), { code: "invalid-argument" });
  throws(() => useSaslkit(xmpp, { mechanisms: "PLAIN" as never }), { code: "invalid-argument" });
});

Deno.test("xmpp: SCRAM-SHA-256 through xmpp.js's SASL1 code, success verified", async () => {
  const run = await exchange({ offered: ["SCRAM-SHA-256", "PLAIN"], server: scramServer });
  equal(run.restarted, true);
  equal(run.mechanism, "SCRAM-SHA-256");
  ok(run.sent[0].startsWith(`<auth xmlns="${SASL}" mechanism="SCRAM-SHA-256">`));
  equal(dec.decode(decodeBase64(xmlText(run.sent[0]))).slice(0, 9), "n,,n=user");
});

Deno.test("xmpp: SCRAM-SHA-1 and PLAIN with a UTF-8 password (btoa carries bytes)", async () => {
  const utf8Server = (name: string): ServerMechanism =>
    (name === "PLAIN" ? plainMechanism : scramSha1Mechanism).createServer(
      { password: (u) => (u === "jürgen" ? "pässwörd" : undefined) },
      { service: "xmpp", host: "example.com" },
    );
  for (const offered of [["SCRAM-SHA-1"], ["PLAIN"]]) {
    const run = await exchange({
      offered,
      server: utf8Server,
      username: "jürgen",
      password: "pässwörd",
    });
    equal(run.restarted, true, offered[0]);
    equal(run.mechanism, offered[0]);
  }
});

Deno.test("xmpp: a wrong server signature is never reported as success", async () => {
  const run = await exchange({
    offered: ["SCRAM-SHA-256"],
    server: scramServer,
    tamper: (data) => {
      const text = serverSignature(data);
      // Flip one character of v=… (still valid base64 of the right length).
      const flipped = text.slice(0, 2) + (text[2] === "A" ? "B" : "A") + text.slice(3);
      return enc.encode(flipped);
    },
  });
  deepEqual([run.restarted, run.error, run.mechanism], [
    false,
    { code: "server-verification-failed", name: "SaslError" },
    undefined,
  ]);
});

Deno.test("xmpp: success without the server-final message, or with garbage, fails closed", async () => {
  for (
    const [tamper, code, name] of [
      [() => undefined, "server-not-verified", "SaslError"],
      [() => enc.encode("e=other-error"), "server-rejected", "ScramServerError"],
      [() => enc.encode("v=%%%"), "malformed-challenge", "SaslError"],
    ] as const
  ) {
    const run = await exchange({ offered: ["SCRAM-SHA-256"], server: scramServer, tamper });
    deepEqual([run.restarted, run.error], [false, { code, name }], code);
  }
});

Deno.test("xmpp: <failure> conditions become typed SaslErrors", async () => {
  for (
    const [condition, code] of [
      ["not-authorized", "authentication-failed"],
      ["credentials-expired", "authentication-failed"],
      ["invalid-authzid", "authorization-failed"],
      ["temporary-auth-failure", "server-rejected"],
    ]
  ) {
    const run = await exchange({
      offered: ["SCRAM-SHA-256"],
      server: scramServer,
      failure: condition,
    });
    deepEqual([run.restarted, run.error], [false, { code, name: "SaslError" }], condition);
  }
});

Deno.test("xmpp: PLAIN only over TLS; -PLUS only with binding data; require/disable", async () => {
  const tls12 = (finished: Uint8Array) => ({
    secure: true,
    socket: {
      getProtocol: () => "TLSv1.2",
      getFinished: () => finished,
      isSessionReused: () => false,
    },
  });
  const insecure = await exchange({ offered: ["PLAIN"], server: scramServer, secure: false });
  equal(insecure.restarted, false);
  equal(insecure.error?.message ?? insecure.error?.name, "SASLError");

  const finished = new Uint8Array(12).fill(7);
  const offeredBoth = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"];
  const bindingServer = (name: string): ServerMechanism =>
    (name.endsWith("-PLUS") ? scramSha256PlusMechanism : scramSha256Mechanism).createServer(
      passwords,
      {
        service: "xmpp",
        host: "example.com",
        channelBindings: { "tls-unique": finished },
        offered: offeredBoth,
      },
    );
  // With binding data and -PLUS offered, -PLUS runs and binds tls-unique.
  const plus = await exchange({
    offered: offeredBoth,
    server: bindingServer,
    socket: tls12(finished),
  });
  deepEqual([plus.restarted, plus.mechanism], [true, "SCRAM-SHA-256-PLUS"]);
  equal(dec.decode(decodeBase64(xmlText(plus.sent[0]))).slice(0, 15), "p=tls-unique,,n");
  // The server's TLS layer saw another Finished message: the binding fails.
  const other = await exchange({
    offered: offeredBoth,
    server: bindingServer,
    socket: tls12(new Uint8Array(12).fill(8)),
  });
  equal(other.restarted, false);

  // Binding disabled: the base variant, with gs2 flag "n".
  const disabled = await exchange({
    offered: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
    server: bindingServer,
    socket: tls12(finished),
    saslkit: { channelBinding: "disable" },
  });
  equal(disabled.mechanism, "SCRAM-SHA-256");
  equal(dec.decode(decodeBase64(xmlText(disabled.sent[0]))).slice(0, 3), "n,,");

  // Binding data but no -PLUS offered: "y" (RFC 5802 §6), and the server accepts it.
  const y = await exchange({
    offered: ["SCRAM-SHA-256"],
    server: scramServer,
    socket: tls12(finished),
  });
  equal(y.mechanism, "SCRAM-SHA-256");
  equal(dec.decode(decodeBase64(xmlText(y.sent[0]))).slice(0, 3), "y,,");

  // Required, but no binding data: nothing usable.
  const xmpp = client({ service: "xmpp://127.0.0.1:5222", domain: "example.com" });
  const required = useSaslkit(xmpp, { channelBinding: "require", mechanisms: ["SCRAM-SHA-256"] });
  deepEqual(required.usable(), []);
  // deno-lint-ignore no-explicit-any
  (xmpp as any).socket = tls12(finished).socket;
  // deno-lint-ignore no-explicit-any
  (xmpp as any).socket.secure = true;
  deepEqual(required.usable(), ["SCRAM-SHA-256-PLUS"]);
});

Deno.test("xmpp: channelBindingsOf reads tls-unique and tls-exporter, and nothing else", () => {
  const finished = new Uint8Array(12).fill(1);
  const peer = new Uint8Array(12).fill(2);
  const socket = (protocol: string, extra: Record<string, unknown> = {}) => ({
    socket: {
      socket: {
        getProtocol: () => protocol,
        getFinished: () => finished,
        getPeerFinished: () => peer,
        isSessionReused: () => false,
        ...extra,
      },
    },
  });
  deepEqual(channelBindingsOf(socket("TLSv1.2")), { "tls-unique": finished });
  deepEqual(channelBindingsOf(socket("TLSv1.2", { isSessionReused: () => true })), {
    "tls-unique": peer,
  });
  // Deno 2.9: getFinished answers 32 octets that are not the Finished message.
  deepEqual(channelBindingsOf(socket("TLSv1.2", { getFinished: () => new Uint8Array(32) })), {});
  const exporter = new Uint8Array(32).fill(3);
  deepEqual(
    channelBindingsOf(socket("TLSv1.3", { exportKeyingMaterial: () => exporter })),
    { "tls-exporter": exporter },
  );
  deepEqual(channelBindingsOf(socket("TLSv1.3")), {});
  deepEqual(
    channelBindingsOf(socket("TLSv1.2", {
      getFinished: () => {
        throw new Error("closed");
      },
    })),
    {},
  );
  deepEqual(channelBindingsOf({ socket: { secure: false } }), {});
});

Deno.test("xmpp: an exchange that fails inside the mechanism reports its SaslError", async () => {
  const run = await exchange({
    offered: ["SCRAM-SHA-256"],
    server: scramServer,
    saslkit: { scram: { minIterations: 1, maxIterations: 4095 } },
  });
  deepEqual([run.restarted, run.error], [false, {
    code: "iteration-count-rejected",
    name: "SaslError",
  }]);
});

function xmlText(element: string): string {
  return element.replace(/^<[^>]*>/, "").replace(/<\/[^>]*>$/, "");
}

const SASL2 = "urn:xmpp:sasl:2";

/** One SASL2 (XEP-0388) exchange through xmpp.js's @xmpp/sasl2 code. */
async function exchangeSasl2(
  tamper?: (data: Uint8Array) => Uint8Array | undefined,
): Promise<{ error?: { code?: string; name?: string }; mechanism?: string; sent: string[] }> {
  const xmpp = client({
    service: "xmpp://127.0.0.1:5222",
    domain: "example.com",
    username: "user",
    password: "pencil",
  });
  // deno-lint-ignore no-explicit-any
  const entity = xmpp as any;
  entity.socket = { secure: true };
  const saslkit = useSaslkit(xmpp, { mechanisms: ["SCRAM-SHA-256"], channelBinding: "disable" });
  const server = scramServer("SCRAM-SHA-256");
  const sent: string[] = [];
  let error: { code?: string; name?: string } | undefined;
  const reply = (element: ReturnType<typeof xml>) =>
    queueMicrotask(() => entity._onElement(element));
  const respond = async (data: string | undefined) => {
    const step = await server.next(decodeBase64(data ?? ""));
    if (!step.done) return reply(xml("challenge", { xmlns: SASL2 }, encodeBase64(step.challenge!)));
    const final = tamper ? tamper(step.challenge!) : step.challenge!;
    reply(
      xml(
        "success",
        { xmlns: SASL2 },
        final && xml("additional-data", {}, encodeBase64(final)),
        xml("authorization-identifier", {}, "user@example.com"),
      ),
    );
  };
  entity.send = (element: ReturnType<typeof xml>) => {
    sent.push(element.toString());
    if (element.is("authenticate", SASL2)) void respond(element.getChildText("initial-response"));
    else if (element.is("response", SASL2)) void respond(element.text());
    return Promise.resolve();
  };
  xmpp.on(
    "error",
    (e: { code?: string; name?: string }) => (error ??= { code: e?.code, name: e?.name }),
  );
  entity._onElement(
    xml(
      "stream:features",
      { "xmlns:stream": STREAMS },
      xml("authentication", { xmlns: SASL2 }, xml("mechanism", {}, "SCRAM-SHA-256")),
    ),
  );
  for (let i = 0; i < 200 && error === undefined && saslkit.outcome === undefined; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 20));
  saslkit.detach();
  return { error, mechanism: saslkit.outcome?.mechanism, sent };
}

Deno.test("xmpp: SASL2 (XEP-0388): <additional-data> verified, a wrong or missing one fails", async () => {
  const good = await exchangeSasl2();
  deepEqual([good.error, good.mechanism], [undefined, "SCRAM-SHA-256"]);
  ok(good.sent[0].includes(`<authenticate xmlns="${SASL2}" mechanism="SCRAM-SHA-256">`));
  const wrong = await exchangeSasl2((data) => {
    const text = dec.decode(data);
    return enc.encode(text.slice(0, 2) + (text[2] === "A" ? "B" : "A") + text.slice(3));
  });
  deepEqual([wrong.error, wrong.mechanism], [
    { code: "server-verification-failed", name: "SaslError" },
    undefined,
  ]);
  const missing = await exchangeSasl2(() => undefined);
  deepEqual([missing.error, missing.mechanism], [
    { code: "server-not-verified", name: "SaslError" },
    undefined,
  ]);
});
