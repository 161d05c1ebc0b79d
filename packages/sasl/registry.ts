/**
 * One registry of mechanisms: each mechanism describes itself once — its name, its
 * properties, the kind of credential it takes, how to build either side, how to show its
 * messages without secrets — and protocol code (SMTP, IMAP, XMPP, LDAP) loops over the
 * registry instead of knowing mechanisms by name.
 *
 * {@linkcode MechanismRegistry.negotiate} turns the server's advertised list, the caller's
 * order and what the connection provides into the list to try, and says why every other
 * mechanism was left out.
 *
 * @example Choosing what to try against a server
 * ```ts
 * import { defaultRegistry } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const { order, skipped } = defaultRegistry.negotiate({
 *   offered: ["PLAIN", "login", "CRAM-MD5", "GSSAPI"],
 *   preferred: ["DIGEST-MD5", "CRAM-MD5", "PLAIN", "X-UNKNOWN"],
 *   credentials: { username: "tim", password: "tanstaaf" },
 *   secure: false,
 * });
 * assert.deepEqual(order.map((m) => m.name), ["CRAM-MD5"]);
 * assert.deepEqual(skipped.map((s) => `${s.name}: ${s.reason}`), [
 *   "DIGEST-MD5: not-offered",
 *   "PLAIN: needs-tls",
 *   "X-UNKNOWN: unknown",
 * ]);
 * ```
 *
 * @module
 */

import {
  type CredentialKind,
  credentialKind,
  type Credentials,
  requestedAuthorizationId,
} from "./credentials.ts";
import { SaslError } from "./error.ts";
import type {
  ChannelBindings,
  ChannelBindingType,
  ClientMechanism,
  MechanismProperties,
  Qop,
  ServerMechanism,
} from "./mechanism.ts";
import type { DigestCipher } from "./digest_md5/ciphers.ts";
import type { DigestMd5ReauthCache } from "./digest_md5/client.ts";
import type { DigestMd5NonceStore } from "./digest_md5/server.ts";
import type { ScramCredentials } from "./scram/server.ts";

/** DIGEST-MD5 settings beyond the credentials, for both sides. */
export interface DigestMd5MechanismOptions {
  /**
   * The protection levels the caller will apply to the connection. Client: picks the
   * strongest offered (default `["auth"]`: no layer). Server: offers these (default
   * `["auth"]`).
   */
  readonly qop?: readonly Qop[];
  /**
   * Cipher names for `auth-conf`, most preferred first (client) or offered (server); default
   * every one of `DIGEST_CIPHERS`. Names, not the cipher objects `DigestMd5Client` takes: the
   * registry bundles every cipher anyway.
   */
  readonly ciphers?: readonly DigestCipher[];
  /** The largest security-layer buffer this side accepts. */
  readonly maxbuf?: number;
  /** Client: how non-ASCII credentials are hashed (see `DigestMd5ClientOptions`). */
  readonly credentialEncoding?: "iso-8859-1-when-possible" | "utf-8";
  /** Client: a fixed realm, or a function picking one of those offered. */
  readonly realm?: string | ((offered: readonly string[]) => string);
  /** Client: enables subsequent authentication. */
  readonly reauthCache?: DigestMd5ReauthCache;
  /** Server: the realms to offer. */
  readonly realms?: readonly string[];
  /** Server: every host name a client may put into `digest-uri`; default the context's host. */
  readonly hosts?: readonly string[];
  /** Server: enables subsequent authentication and replay checks across exchanges. */
  readonly nonceStore?: DigestMd5NonceStore;
}

/**
 * How SCRAM mechanisms use channel binding: `prefer` (the default) tries `-PLUS` first when
 * the connection provides binding data; `require` never runs SCRAM without it; `disable` never
 * binds.
 */
export type ChannelBindingMode = "prefer" | "require" | "disable";

/** ClientKey and ServerKey for one (password, salt, iteration count, hash): what a cache keeps. */
export interface ScramCachedKeys {
  /** HMAC(SaltedPassword, "Client Key"). */
  readonly clientKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  readonly serverKey: Uint8Array;
}

/**
 * Where a SCRAM client (`ScramClient` of `@saslkit/sasl/scram`) keeps the keys it derived, so
 * that the next exchange with the same password, salt, iteration count and hash skips PBKDF2
 * (the expensive part). `InMemoryScramCache` of `@saslkit/sasl/scram` is a bounded one.
 *
 * The client calls it with an opaque key: base64 of an HMAC-SHA-256, under a random key made
 * once per process, of the hash name, the iteration count, the salt and the password. So no
 * key contains the password or lets anyone test a guess at it, and keys made in one process
 * do not match in another. The values are as good as the password for this server (ClientKey
 * lets one log in, ServerKey lets one pose as the server): keep them where you would keep the
 * password. A `get` that throws or answers a value of the wrong shape is treated as a miss.
 *
 * @example A cache of one's own
 * ```ts
 * import type { ScramCache, ScramCachedKeys } from "@saslkit/sasl";
 *
 * const entries = new Map<string, ScramCachedKeys>();
 * const cache: ScramCache = {
 *   get: (key) => entries.get(key),
 *   set: (key, keys) => void entries.set(key, keys),
 * };
 * ```
 */
export interface ScramCache {
  /**
   * Looks up keys.
   *
   * @param key The opaque key.
   * @returns The keys, or `undefined`.
   */
  get(key: string): ScramCachedKeys | undefined | Promise<ScramCachedKeys | undefined>;
  /**
   * Stores keys (copies the client will not modify).
   *
   * @param key The opaque key.
   * @param keys ClientKey and ServerKey.
   */
  set(key: string, keys: ScramCachedKeys): void | Promise<void>;
}

/** SCRAM settings beyond the credentials. */
export interface ScramMechanismOptions {
  /** Client: the lowest iteration count accepted from a server. Default 4096. */
  readonly minIterations?: number;
  /** Client: the highest iteration count accepted, so a server cannot stall the client. */
  readonly maxIterations?: number;
  /** Which binding type `-PLUS` uses; default `tls-exporter`, else `tls-unique`, else `tls-server-end-point`. */
  readonly channelBindingType?: ChannelBindingType;
  /** See {@linkcode ChannelBindingMode}. Read by {@linkcode MechanismRegistry.negotiate}'s callers. */
  readonly channelBinding?: ChannelBindingMode;
  /** Server: iterations for credentials it derives from a plaintext password. Default 4096. */
  readonly iterations?: number;
  /** Client: where derived keys are kept between exchanges. Default none. */
  readonly cache?: ScramCache;
}

/** Per-mechanism settings, nested by mechanism family; each descriptor reads its own. */
export interface MechanismOptions {
  /** DIGEST-MD5. */
  readonly digestMd5?: DigestMd5MechanismOptions;
  /** The SCRAM family. */
  readonly scram?: ScramMechanismOptions;
}

/** Where an exchange runs, as the protocol code knows it. */
export interface MechanismContext {
  /** The registered service name: `smtp`, `imap`, `xmpp`, `ldap`… */
  readonly service: string;
  /** The server's host name. */
  readonly host: string;
  /** The server's port, for mechanisms that send it (OAUTHBEARER). */
  readonly port?: number;
  /** Whether the connection is encrypted (TLS). */
  readonly secure?: boolean;
  /** The channel-binding data the TLS connection provides. */
  readonly channelBindings?: ChannelBindings;
  /** The mechanisms the server advertised (SCRAM tells a downgrade by it). */
  readonly offered?: readonly string[];
  /** Ask a token provider for a fresh token (after `invalid-token`). */
  readonly refreshToken?: boolean;
  /** Per-mechanism settings. */
  readonly options?: MechanismOptions;
}

/** What an OAuth token validator decides. */
export type TokenVerdict =
  | { readonly authenticationId: string }
  | { readonly error: { readonly status: string; readonly scope?: string } };

/**
 * What a server knows about its users; every lookup is optional, and a mechanism whose lookup
 * is missing cannot be built (`invalid-argument`).
 */
export interface ServerCredentials {
  /** Plaintext passwords (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM derived on the fly). */
  readonly password?: (username: string) => string | undefined;
  /** SCRAM's stored keys per user and hash, preferred over `password`. */
  readonly scram?: (
    username: string,
    hash: string,
  ) => ScramCredentials | undefined | Promise<ScramCredentials | undefined>;
  /** Validates an OAuth bearer token. */
  readonly token?: (
    token: string,
    request: { readonly authorizationId?: string; readonly host?: string; readonly port?: number },
  ) => TokenVerdict | Promise<TokenVerdict>;
  /** The identity the transport established (TLS client certificate), for EXTERNAL. */
  readonly externalIdentity?: string;
  /** Accepts an anonymous login; receives the trace. Absent: ANONYMOUS is refused. */
  readonly anonymous?: (trace: string) => boolean;
  /** Whether `authenticationId` may act as `authorizationId`; default only as itself. */
  readonly authorize?: (authenticationId: string, authorizationId: string) => boolean;
}

/** Where a message sits in an exchange, for redaction. */
export interface RedactionStep {
  /** The challenge this message answers; absent for an initial response. */
  readonly lastChallenge?: Uint8Array;
}

/**
 * Everything saslkit knows about one mechanism, in one place.
 *
 * @example A descriptor builds a client from credentials and context
 * ```ts
 * import { plainMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = await plainMechanism.createClient(
 *   { username: "tim", password: "tanstaaf" },
 *   { service: "smtp", host: "mail.example.com" },
 * );
 * const initial = client.start()!;
 * assert.equal(plainMechanism.redact(initial, {}), "\0tim\0***");
 * ```
 */
export interface MechanismDescriptor {
  /** The registered name, upper case (`SCRAM-SHA-256-PLUS`). */
  readonly name: string;
  /** What the mechanism does with secrets, the server and the channel. */
  readonly properties: MechanismProperties;
  /** The kind of credentials it takes. */
  readonly credentialKind: CredentialKind;
  /**
   * Builds the client side for one exchange.
   *
   * @throws {SaslError} `invalid-argument` when these credentials or options cannot work
   * with this mechanism (a protocol treats that as a failed attempt and moves on).
   */
  createClient(
    credentials: Credentials,
    context: MechanismContext,
  ): ClientMechanism | Promise<ClientMechanism>;
  /**
   * Builds the server side for one exchange.
   *
   * @throws {SaslError} `invalid-argument` when `store` lacks the lookup it needs.
   */
  createServer(store: ServerCredentials, context: MechanismContext): ServerMechanism;
  /**
   * Shows a client message for a transcript: what is known to be harmless stays, every
   * secret (password, token, proof, digest) becomes `***`. Control characters are left for
   * the caller to escape.
   */
  redact(message: Uint8Array, step: RedactionStep): string;
}

/**
 * Declares a mechanism descriptor: checks its name and freezes it, so that a registry entry
 * cannot change after it is registered.
 *
 * @param descriptor The mechanism.
 * @returns The same descriptor, frozen.
 * @throws {SaslError} `invalid-argument` for a name that is not an upper-case SASL name.
 *
 * @example A mechanism of one's own
 * ```ts
 * import { defineMechanism, MechanismRegistry, plainMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const xPlain = defineMechanism({ ...plainMechanism, name: "X-PLAIN" });
 * const registry = new MechanismRegistry([xPlain]);
 * assert.equal(registry.get("x-plain"), xPlain);
 * ```
 */
export function defineMechanism(descriptor: MechanismDescriptor): MechanismDescriptor {
  if (typeof descriptor?.name !== "string" || !SASL_NAME.test(descriptor.name)) {
    throw new SaslError("invalid-argument", "a mechanism name must be an upper-case SASL name");
  }
  return Object.freeze(descriptor);
}

/** Why {@linkcode MechanismRegistry.negotiate} left a mechanism out. */
export type SkipReason =
  | "unknown"
  | "not-offered"
  | "no-credential"
  | "no-authorization-id"
  | "needs-tls"
  | "needs-channel-binding"
  | "channel-binding-disabled"
  | "channel-binding-required";

/** A mechanism left out, and why. */
export interface SkippedMechanism {
  /** The name, upper case. */
  readonly name: string;
  /** The reason. */
  readonly reason: SkipReason;
  /** The reason in words. */
  readonly detail: string;
}

/** What {@linkcode MechanismRegistry.negotiate} decides from. */
export interface NegotiationInput {
  /** The mechanisms the server advertised, any case. */
  readonly offered: readonly string[];
  /** The caller's order, any case; default the registry's own order. */
  readonly preferred?: readonly string[];
  /** The caller's credentials; only mechanisms of their kind are tried. */
  readonly credentials: Credentials;
  /** Whether the connection is encrypted. */
  readonly secure: boolean;
  /** The channel-binding types the connection provides. */
  readonly channelBindingTypes?: readonly ChannelBindingType[];
  /** Default `prefer`. */
  readonly channelBinding?: ChannelBindingMode;
  /** Allow mechanisms that send a reusable secret without TLS. Default false. */
  readonly allowCleartext?: boolean;
}

/** The outcome of a negotiation. */
export interface Negotiation {
  /** The mechanisms to try, in order. */
  readonly order: readonly MechanismDescriptor[];
  /** Every mechanism of the caller's order that is not in `order`, and why. */
  readonly skipped: readonly SkippedMechanism[];
}

const SASL_NAME = /^[A-Z0-9_-]{1,20}$/;
const PLUS = "-PLUS";

const DETAILS: Record<SkipReason, string> = {
  "unknown": "saslkit does not implement it",
  "not-offered": "the server does not offer it",
  "no-credential": "it takes another kind of credentials",
  "no-authorization-id": "it cannot carry the requested authorization identity",
  "needs-tls": "it sends a reusable secret and the connection is not encrypted",
  "needs-channel-binding": "the connection provides no channel-binding data",
  "channel-binding-disabled": "channel binding is disabled",
  "channel-binding-required": "channel binding is required and this variant does not bind",
};

/**
 * A set of mechanism descriptors, in order of preference, looked up case-insensitively.
 *
 * @example A registry of one's own, such as an app that only ever uses SCRAM or PLAIN
 * ```ts
 * import { MechanismRegistry, plainMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const registry = new MechanismRegistry([plainMechanism]);
 * assert.equal(registry.get("plain"), plainMechanism);
 * assert.deepEqual(registry.names, ["PLAIN"]);
 * ```
 */
export class MechanismRegistry {
  readonly #byName = new Map<string, MechanismDescriptor>();

  /**
   * Creates a registry.
   *
   * @param descriptors The mechanisms, most preferred first.
   * @throws {SaslError} `invalid-argument` for a name that is not a SASL name or appears twice.
   */
  constructor(descriptors: Iterable<MechanismDescriptor>) {
    for (const descriptor of descriptors) {
      if (!SASL_NAME.test(descriptor.name)) {
        throw new SaslError(
          "invalid-argument",
          `"${descriptor.name}" is not an upper-case SASL name`,
        );
      }
      if (this.#byName.has(descriptor.name)) {
        throw new SaslError("invalid-argument", `${descriptor.name} is registered twice`);
      }
      this.#byName.set(descriptor.name, descriptor);
    }
  }

  /** Every registered name, in the registry's order of preference. */
  get names(): readonly string[] {
    return [...this.#byName.keys()];
  }

  /**
   * The descriptor of a mechanism.
   *
   * @param name Any case.
   * @returns The descriptor, or `undefined` when none is registered under that name.
   */
  get(name: string): MechanismDescriptor | undefined {
    return typeof name === "string" ? this.#byName.get(name.toUpperCase()) : undefined;
  }

  /**
   * Decides which mechanisms to try, in which order, and why the others are left out.
   *
   * Names are matched case-insensitively; duplicates are ignored. Under channel-binding
   * `prefer`, each mechanism's `-PLUS` variant goes just before it when the connection is
   * encrypted, provides binding data and the server offers that variant.
   *
   * @param input The server's list, the caller's order and credentials, the connection.
   * @returns The order to try and the skipped mechanisms.
   * @throws {SaslError} `invalid-argument` when the credentials are not of a known shape.
   */
  negotiate(input: NegotiationInput): Negotiation {
    const kind = credentialKind(input.credentials);
    const authzid = requestedAuthorizationId(input.credentials);
    const offered = new Set(namesOf(input.offered, "offered"));
    const mode = input.channelBinding ?? "prefer";
    const canBind = input.secure && (input.channelBindingTypes?.length ?? 0) > 0;
    const wanted = withPlusVariants(
      unique(input.preferred === undefined ? this.names : namesOf(input.preferred, "preferred")),
      (name) => mode === "prefer" && canBind && offered.has(name) && this.#byName.has(name),
    );
    const order: MechanismDescriptor[] = [];
    const skipped: SkippedMechanism[] = [];
    for (const name of wanted) {
      const descriptor = this.#byName.get(name);
      const reason = descriptor === undefined ? "unknown" : this.#reasonToSkip(descriptor, {
        offered,
        kind,
        authzid,
        mode,
        canBind,
        secure: input.secure,
        allowCleartext: input.allowCleartext ?? false,
      });
      if (reason === undefined) order.push(descriptor!);
      else skipped.push({ name, reason, detail: DETAILS[reason] });
    }
    return { order, skipped };
  }

  #reasonToSkip(
    descriptor: MechanismDescriptor,
    c: {
      offered: Set<string>;
      kind: CredentialKind;
      authzid: string;
      mode: ChannelBindingMode;
      canBind: boolean;
      secure: boolean;
      allowCleartext: boolean;
    },
  ): SkipReason | undefined {
    const { properties, name } = descriptor;
    if (!c.offered.has(name)) return "not-offered";
    if (descriptor.credentialKind !== c.kind) return "no-credential";
    if (c.authzid !== "" && !properties.carriesAuthorizationId) return "no-authorization-id";
    if (properties.channelBinding) {
      if (c.mode === "disable") return "channel-binding-disabled";
      if (!c.canBind) return "needs-channel-binding";
    } else if (c.mode === "require" && this.#byName.has(name + PLUS)) {
      return "channel-binding-required";
    }
    if (properties.sendsCleartextPassword && !c.secure && !c.allowCleartext) return "needs-tls";
    return undefined;
  }
}

function namesOf(list: readonly string[], what: string): string[] {
  if (!Array.isArray(list) || list.some((name) => typeof name !== "string")) {
    throw new SaslError("invalid-argument", `${what} must be an array of mechanism names`);
  }
  return list.map((name) => name.toUpperCase());
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

// Puts NAME-PLUS just before NAME where `usable(NAME-PLUS)`, unless the caller placed it.
function withPlusVariants(names: readonly string[], usable: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of names) {
    const plus = name + PLUS;
    if (!name.endsWith(PLUS) && !names.includes(plus) && usable(plus)) out.push(plus);
    out.push(name);
  }
  return out;
}
