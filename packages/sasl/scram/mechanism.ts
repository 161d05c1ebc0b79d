/**
 * The SCRAM mechanism descriptors for a {@linkcode MechanismRegistry}: SCRAM-SHA-1,
 * SCRAM-SHA-256 and SCRAM-SHA-512, each with its -PLUS variant.
 *
 * @module
 */

import { passwordCredentials, shown } from "../_descriptor.ts";
import { SaslError } from "../error.ts";
import type {
  ChannelBindings,
  ChannelBindingType,
  ClientMechanism,
  ServerMechanism,
} from "../mechanism.ts";
import {
  defineMechanism,
  type MechanismContext,
  type MechanismDescriptor,
  type ServerCredentials,
} from "../registry.ts";
import { loadSaslprep } from "../saslprep.ts";
import { type ScramChannelBinding, type ScramHash, scramName, scramProperties } from "./_common.ts";
import { stableSalt } from "./_keys.ts";
import { CHANNEL_BINDING_TYPES } from "./_messages.ts";
import { ScramClient, type ScramClientOptions } from "./client.ts";
import { deriveScramCredentials, type ScramCredentials, ScramServer } from "./server.ts";

function offers(context: MechanismContext, name: string): boolean {
  return context.offered?.some((offered) => offered.toUpperCase() === name) ?? false;
}

function bindingFor(
  bindings: ChannelBindings | undefined,
  override: ChannelBindingType | undefined,
): ScramChannelBinding | undefined {
  if (bindings === undefined) return undefined;
  if (override !== undefined) {
    const data = bindings[override];
    if (data === undefined) {
      throw new SaslError(
        "invalid-argument",
        `the connection provides no ${override} channel-binding data`,
      );
    }
    return { type: override, data };
  }
  for (const type of CHANNEL_BINDING_TYPES) {
    const data = bindings[type];
    if (data !== undefined && data.length > 0) return { type, data };
  }
  return undefined;
}

function createClient(hash: ScramHash, plus: boolean) {
  const name = scramName(hash, plus);
  return (
    credentials: Parameters<MechanismDescriptor["createClient"]>[0],
    context: MechanismContext,
  ): ClientMechanism | Promise<ClientMechanism> => {
    const { username, password, authorizationId } = passwordCredentials(name, credentials);
    const options = context.options?.scram;
    const common = {
      hash,
      username,
      password,
      authorizationId,
      minIterations: options?.minIterations,
      maxIterations: options?.maxIterations,
      cache: options?.cache,
    };
    if (plus) {
      if (options?.channelBinding === "disable") {
        throw new SaslError("invalid-argument", `${name}: channel binding is disabled`);
      }
      const binding = bindingFor(context.channelBindings, options?.channelBindingType);
      if (binding === undefined) {
        throw new SaslError(
          "invalid-argument",
          `${name} needs channel-binding data from the TLS connection`,
        );
      }
      return build({ ...common, channelBinding: binding, serverOffersPlus: true });
    }
    // The non-PLUS variant. With binding data and no -PLUS in the server's list, say `y`, so a
    // server that does offer -PLUS sees that the list was stripped. When the server does offer
    // -PLUS and this variant runs anyway (the caller's choice, or a fallback after -PLUS
    // failed), bind nothing: `n`.
    if (options?.channelBinding === "require") {
      throw new SaslError("invalid-argument", `${name} does not bind and binding is required`);
    }
    const binding = options?.channelBinding === "disable"
      ? undefined
      : bindingFor(context.channelBindings, options?.channelBindingType);
    const plusOffered = offers(context, `${name}-PLUS`);
    return build({
      ...common,
      channelBinding: binding !== undefined && !plusOffered ? binding : undefined,
    });
  };
}

// Credentials of printable ASCII are prepared at once; any other string needs SASLprep's
// library, loaded (once) with import() the first time such a string comes.
function build(options: ScramClientOptions): ScramClient | Promise<ScramClient> {
  try {
    return new ScramClient(options);
  } catch (error) {
    if (!(error instanceof SaslError) || error.code !== "saslprep-unavailable") throw error;
    return loadSaslprep().then(() => new ScramClient(options));
  }
}

// Deriving on the fly costs PBKDF2 for a known user; an unknown one pays the same, so the
// time does not tell them apart. The salt is the one an unknown user of that name would get.
const DUMMY_PASSWORD = "saslkit-unknown-user";

function credentialsLookup(
  hash: ScramHash,
  store: ServerCredentials,
  iterations: number,
  secret: Uint8Array,
): (username: string) => Promise<ScramCredentials | undefined> | ScramCredentials | undefined {
  const scram = store.scram;
  if (scram !== undefined) return (username) => scram(username, hash);
  const password = store.password;
  if (password === undefined) {
    throw new SaslError(
      "invalid-argument",
      `a ${scramName(hash, false)} server needs the "scram" or "password" lookup`,
    );
  }
  return async (username) => {
    const stored = password(username);
    const salt = await stableSalt(secret, hash, username);
    const derived = await deriveScramCredentials(stored ?? DUMMY_PASSWORD, {
      hash,
      salt,
      iterations,
    });
    return stored === undefined ? undefined : derived;
  };
}

let descriptorSecret: Uint8Array | undefined;

function createServer(hash: ScramHash, plus: boolean) {
  return (store: ServerCredentials, context: MechanismContext): ServerMechanism => {
    const iterations = context.options?.scram?.iterations ?? 4096;
    descriptorSecret ??= crypto.getRandomValues(new Uint8Array(32));
    const credentials = credentialsLookup(hash, store, iterations, descriptorSecret);
    const bindings = context.channelBindings;
    const advertisesPlus = context.offered === undefined
      ? undefined
      : offers(context, scramName(hash, true));
    const authorize = store.authorize;
    return new ScramServer({
      hash,
      plus,
      credentials,
      channelBindings: bindings,
      advertisesPlus,
      authorize,
      secret: descriptorSecret,
      unknownUserIterations: iterations,
    });
  };
}

/**
 * Shows a SCRAM client message for a transcript: the client-first message as it is (the
 * username, authzid and nonce are not secret), the client-final message with its proof as
 * `p=***` (channel binding `c=` and nonce `r=` kept), anything else as `***`.
 */
function redact(message: Uint8Array): string {
  return shown(message, (text) => {
    if (/^(?:n|y|p=[A-Za-z0-9.-]+),/.test(text)) return text;
    const proof = text.lastIndexOf(",p=");
    if (text.startsWith("c=") && proof > 0) return `${text.slice(0, proof)},p=***`;
    return "***";
  });
}

function descriptor(hash: ScramHash, plus: boolean): MechanismDescriptor {
  return defineMechanism({
    name: scramName(hash, plus),
    properties: scramProperties(plus),
    credentialKind: "password",
    createClient: createClient(hash, plus),
    createServer: createServer(hash, plus),
    redact,
  });
}

/**
 * SCRAM-SHA-1 (RFC 5802). Prefer SHA-256 where the server has it.
 *
 * @example
 * ```ts
 * import { scramSha1Mechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scramSha1Mechanism.name, "SCRAM-SHA-1");
 * assert.equal(scramSha1Mechanism.properties.verifiesServer, true);
 * ```
 */
export const scramSha1Mechanism: MechanismDescriptor = /* @__PURE__ */ descriptor("SHA-1", false);

/**
 * SCRAM-SHA-1-PLUS: SCRAM-SHA-1 bound to the TLS channel.
 *
 * @example
 * ```ts
 * import { scramSha1PlusMechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scramSha1PlusMechanism.properties.channelBinding, true);
 * ```
 */
export const scramSha1PlusMechanism: MechanismDescriptor = /* @__PURE__ */ descriptor(
  "SHA-1",
  true,
);

/**
 * SCRAM-SHA-256 (RFC 7677).
 *
 * The client reads `context.options.scram` (`minIterations`, `maxIterations`, `cache`,
 * `channelBinding`, `channelBindingType`) and, for the `y` flag, `context.channelBindings` and
 * `context.offered`. The server takes `store.scram(username, "SHA-256")` or, with only
 * `store.password`, derives the keys on the fly with `options.scram.iterations` (4096).
 *
 * @example A descriptor-built client, with the proof redacted from the transcript
 * ```ts
 * import { scramSha256Mechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const context = { service: "smtp", host: "mail.example.com" };
 * const server = scramSha256Mechanism.createServer({ password: () => "pencil" }, context);
 * const client = await scramSha256Mechanism.createClient(
 *   { username: "user", password: "pencil" },
 *   context,
 * );
 * const first = client.start()!;
 * assert.match(scramSha256Mechanism.redact(first, {}), /^n,,n=user,r=/);
 * const serverFirst = await server.next(first);
 * const final = await client.next(serverFirst.challenge!);
 * assert.match(
 *   scramSha256Mechanism.redact(final, { lastChallenge: serverFirst.challenge }),
 *   /^c=biws,r=[^,]+,p=\*\*\*$/,
 * );
 * const done = await server.next(final);
 * assert.equal(client.finish(done.challenge).mechanism, "SCRAM-SHA-256");
 * ```
 */
export const scramSha256Mechanism: MechanismDescriptor = /* @__PURE__ */ descriptor(
  "SHA-256",
  false,
);

/**
 * SCRAM-SHA-256-PLUS: SCRAM-SHA-256 bound to the TLS channel. The client binds with
 * `tls-exporter` when the connection provides it, else `tls-unique`, else
 * `tls-server-end-point` (or `options.scram.channelBindingType`); without any it cannot be
 * built (`invalid-argument`).
 *
 * @example
 * ```ts
 * import { scramSha256PlusMechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const client = await scramSha256PlusMechanism.createClient(
 *   { username: "user", password: "pencil" },
 *   {
 *     service: "smtp",
 *     host: "mail.example.com",
 *     channelBindings: { "tls-exporter": new Uint8Array(32).fill(1) },
 *   },
 * );
 * assert.match(new TextDecoder().decode(client.start()), /^p=tls-exporter,,n=user,r=/);
 * ```
 */
export const scramSha256PlusMechanism: MechanismDescriptor = /* @__PURE__ */ descriptor(
  "SHA-256",
  true,
);

/**
 * SCRAM-SHA-512 (the IANA-registered name; no RFC of its own, same construction).
 *
 * @example
 * ```ts
 * import { scramSha512Mechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scramSha512Mechanism.name, "SCRAM-SHA-512");
 * ```
 */
export const scramSha512Mechanism: MechanismDescriptor = /* @__PURE__ */ descriptor(
  "SHA-512",
  false,
);

/**
 * SCRAM-SHA-512-PLUS: SCRAM-SHA-512 bound to the TLS channel.
 *
 * @example
 * ```ts
 * import { scramSha512PlusMechanism } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scramSha512PlusMechanism.name, "SCRAM-SHA-512-PLUS");
 * ```
 */
export const scramSha512PlusMechanism: MechanismDescriptor = /* @__PURE__ */ descriptor(
  "SHA-512",
  true,
);

/**
 * Every SCRAM descriptor, strongest first, each -PLUS variant before its plain one, as they
 * stand at the head of `defaultRegistry`: for a registry of one's own, such as a protocol
 * adapter's that offers only SCRAM.
 *
 * @example A registry with only SCRAM, and the default registry's order
 * ```ts
 * import { defaultRegistry, MechanismRegistry } from "@saslkit/sasl";
 * import { scramMechanisms } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const names = scramMechanisms.map((m) => m.name);
 * assert.deepEqual(defaultRegistry.names.slice(0, 6), names);
 * const { order } = new MechanismRegistry(scramMechanisms).negotiate({
 *   offered: ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"],
 *   credentials: { username: "user", password: "pencil" },
 *   secure: true,
 *   channelBindingTypes: ["tls-exporter"],
 * });
 * assert.deepEqual(order.map((m) => m.name), [
 *   "SCRAM-SHA-256-PLUS",
 *   "SCRAM-SHA-256",
 *   "SCRAM-SHA-1",
 * ]);
 * ```
 */
export const scramMechanisms: readonly MechanismDescriptor[] = /* @__PURE__ */ Object.freeze([
  scramSha512PlusMechanism,
  scramSha512Mechanism,
  scramSha256PlusMechanism,
  scramSha256Mechanism,
  scramSha1PlusMechanism,
  scramSha1Mechanism,
]);
