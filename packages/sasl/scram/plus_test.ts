// Channel binding (-PLUS) with each type, mismatches, and the `y` downgrade detection of
// RFC 5802 §6, through both sides.
import assert from "node:assert/strict";
import { SaslError } from "../error.ts";
import {
  type ChannelBindingType,
  deriveScramCredentials,
  ScramClient,
  type ScramClientOptions,
  ScramServer,
  ScramServerError,
  type ScramServerOptions,
} from "./mod.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const stored = await deriveScramCredentials("pencil", { hash: "SHA-256" });
const TYPES: readonly ChannelBindingType[] = ["tls-exporter", "tls-unique", "tls-server-end-point"];
const data = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

type ClientExtra = Partial<ScramClientOptions>;
type ServerExtra = Partial<Omit<ScramServerOptions, "credentials">>;

/** Runs an exchange; returns the server's final step and the two sides. */
async function exchange(clientExtra: ClientExtra, serverExtra: ServerExtra) {
  const client = new ScramClient({
    hash: "SHA-256",
    username: "user",
    password: "pencil",
    ...clientExtra,
  });
  const server = new ScramServer({
    hash: "SHA-256",
    credentials: (name) => name === "user" ? stored : undefined,
    ...serverExtra,
  });
  const clientFirst = client.start();
  const first = await server.next(clientFirst);
  const clientFinal = await client.next(first.challenge!);
  const final = await server.next(clientFinal);
  return { client, server, clientFirst, clientFinal, final };
}

function isCode(code: string, serverError?: string) {
  return (e: unknown) =>
    e instanceof SaslError && e.code === code &&
    (serverError === undefined ||
      (e instanceof ScramServerError && e.serverError === serverError));
}

for (const type of TYPES) {
  Deno.test(`SCRAM-SHA-256-PLUS with ${type}: round trip`, async () => {
    const binding = data(7, type === "tls-unique" ? 12 : 32);
    const { client, server, clientFirst, clientFinal, final } = await exchange(
      { channelBinding: { type, data: binding }, serverOffersPlus: true },
      { plus: true, channelBindings: { [type]: binding } },
    );
    assert.equal(client.name, "SCRAM-SHA-256-PLUS");
    assert.equal(client.properties.channelBinding, true);
    assert.equal(server.name, "SCRAM-SHA-256-PLUS");
    assert.ok(td.decode(clientFirst).startsWith(`p=${type},,n=user,r=`));
    // c= is base64 of the GS2 header followed by the binding data.
    const c = td.decode(clientFinal).split(",")[0].slice(2);
    const header = te.encode(`p=${type},,`);
    assert.deepEqual(
      Uint8Array.from(atob(c), (ch) => ch.charCodeAt(0)),
      new Uint8Array([...header, ...binding]),
    );
    assert.equal(final.done, true);
    assert.equal(client.finish(final.challenge).mechanism, "SCRAM-SHA-256-PLUS");
    assert.equal(server.outcome().mechanism, "SCRAM-SHA-256-PLUS");
  });

  Deno.test(`SCRAM-SHA-256-PLUS with ${type}: other data is channel-bindings-dont-match`, async () => {
    const { client, server, final } = await exchange(
      { channelBinding: { type, data: data(1) }, serverOffersPlus: true },
      { plus: true, channelBindings: { [type]: data(2) } },
    );
    assert.equal(final.done, false);
    assert.equal(td.decode(final.challenge), "e=channel-bindings-dont-match");
    await assert.rejects(
      () => client.next(final.challenge!),
      isCode("channel-binding-mismatch", "channel-bindings-dont-match"),
    );
    await assert.rejects(
      () => server.next(new Uint8Array(0)),
      isCode("channel-binding-mismatch", "channel-bindings-dont-match"),
    );
    assert.throws(() => server.outcome(), isCode("invalid-state"));
  });
}

Deno.test("SCRAM-PLUS: a type the server has no data for is unsupported-channel-binding-type", async () => {
  const { server, final } = await exchange(
    { channelBinding: { type: "tls-unique", data: data(1) }, serverOffersPlus: true },
    { plus: true, channelBindings: { "tls-exporter": data(1) } },
  );
  assert.equal(td.decode(final.challenge), "e=unsupported-channel-binding-type");
  assert.throws(() => server.outcome(), isCode("channel-binding-mismatch"));
});

Deno.test("SCRAM-PLUS: a client that does not bind is refused by a -PLUS server", async () => {
  const { final } = await exchange({}, {
    plus: true,
    channelBindings: { "tls-exporter": data(1) },
  });
  assert.equal(td.decode(final.challenge), "e=channel-binding-not-supported");
});

Deno.test("SCRAM: p= sent to a server of the non-PLUS mechanism fails", async () => {
  const { final } = await exchange(
    { channelBinding: { type: "tls-exporter", data: data(1) }, serverOffersPlus: true },
    { channelBindings: { "tls-exporter": data(1) } },
  );
  assert.equal(final.done, false);
  assert.equal(td.decode(final.challenge), "e=other-error");
});

Deno.test("SCRAM: `y` while the server advertises -PLUS is a downgrade", async () => {
  const { client, server, clientFirst, final } = await exchange(
    { channelBinding: { type: "tls-exporter", data: data(1) }, serverOffersPlus: false },
    { channelBindings: { "tls-exporter": data(1) } }, // advertisesPlus defaults to true
  );
  assert.equal(client.name, "SCRAM-SHA-256");
  assert.ok(td.decode(clientFirst).startsWith("y,,n=user,"));
  assert.equal(td.decode(final.challenge), "e=server-does-support-channel-binding");
  await assert.rejects(
    () => client.next(final.challenge!),
    isCode("channel-binding-downgrade", "server-does-support-channel-binding"),
  );
  await assert.rejects(() => server.next(new Uint8Array(0)), isCode("channel-binding-downgrade"));
});

Deno.test("SCRAM: `y` to a server that offers no -PLUS authenticates (c=eSws)", async () => {
  const { client, server, clientFinal, final } = await exchange(
    { channelBinding: { type: "tls-exporter", data: data(1) } },
    { advertisesPlus: false },
  );
  assert.ok(td.decode(clientFinal).startsWith("c=eSws,"));
  assert.equal(final.done, true);
  client.finish(final.challenge);
  assert.equal(server.outcome().authenticationId, "user");
});

Deno.test("SCRAM: a server told it advertises -PLUS detects `y` without binding data", async () => {
  const { final } = await exchange(
    { channelBinding: { type: "tls-unique", data: data(1) } },
    { advertisesPlus: true },
  );
  assert.equal(td.decode(final.challenge), "e=server-does-support-channel-binding");
});

Deno.test("SCRAM: no binding data gives `n` and c=biws", async () => {
  const { clientFirst, clientFinal, final } = await exchange({ serverOffersPlus: true }, {});
  assert.ok(td.decode(clientFirst).startsWith("n,,"));
  assert.ok(td.decode(clientFinal).startsWith("c=biws,"));
  assert.equal(final.done, true);
});

Deno.test("SCRAM-PLUS: bad channel-binding options are invalid-argument", () => {
  for (
    const binding of [
      { type: "tls-unique" as const, data: new Uint8Array(0) },
      { type: "tls-foo" as ChannelBindingType, data: data(1) },
    ]
  ) {
    assert.throws(
      () =>
        new ScramClient({
          hash: "SHA-256",
          username: "u",
          password: "p",
          channelBinding: binding,
          serverOffersPlus: true,
        }),
      isCode("invalid-argument"),
    );
  }
  assert.throws(
    () =>
      new ScramServer({
        hash: "SHA-256",
        credentials: () => undefined,
        channelBindings: { "tls-unique": new Uint8Array(0) },
      }),
    isCode("invalid-argument"),
  );
});

Deno.test("SCRAM-PLUS server: channelBinding is shorthand for channelBindings", async () => {
  const binding = data(5);
  const ok = await exchange(
    { channelBinding: { type: "tls-unique", data: binding }, serverOffersPlus: true },
    { plus: true, channelBinding: { type: "tls-unique", data: binding } },
  );
  assert.equal(ok.final.done, true);
  assert.throws(
    () =>
      new ScramServer({
        hash: "SHA-256",
        credentials: () => undefined,
        channelBinding: { type: "tls-unique", data: data(1) },
        channelBindings: { "tls-unique": data(2) },
      }),
    isCode("invalid-argument"),
  );
});
