/**
 * The EXTERNAL mechanism (RFC 4422 Appendix A): the client was authenticated outside SASL —
 * by a TLS client certificate, an IPsec association, a Unix socket's peer credentials — and
 * only says which identity it wants to act as. No secret crosses the wire.
 *
 * @module
 */

import { decodeUtf8, utf8 } from "./_bytes.ts";
import { shown } from "./_descriptor.ts";
import { isWellFormed } from "./_oauth.ts";
import { SaslError } from "./error.ts";
import { SingleMessageExchange, SingleMessageServerExchange } from "./_single_message.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

// RFC 4422 sets no limit; this one only keeps a hostile client from handing `authorize` megabytes.
const MAX_AUTHZID_OCTETS = 1024;

const EXTERNAL_PROPERTIES: MechanismProperties = Object.freeze({
  sendsCleartextPassword: false,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: true,
});

/** Options of an {@linkcode ExternalClient}. */
export interface ExternalClientOptions {
  /**
   * The identity to act as (authzid). Omit it or leave it empty to act as the identity the
   * server associates with the external credentials (the certificate's subject, say).
   */
  readonly authorizationId?: string;
}

/**
 * The client side of EXTERNAL (RFC 4422 Appendix A).
 *
 * `start()` returns the authzid in UTF-8 as the initial response, possibly empty (protocols
 * send an empty initial response as `=`). A protocol that cannot send an initial response gets
 * an empty challenge, and `next()` answers it with the same message once.
 *
 * @example Acting as the certificate's own identity, and as another one
 * ```ts
 * import { ExternalClient } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const self = new ExternalClient();
 * assert.deepEqual(self.start(), new Uint8Array(0));
 * assert.equal(self.finish().authorizationId, undefined);
 *
 * const other = new ExternalClient({ authorizationId: "dn:cn=backup,dc=example,dc=com" });
 * assert.equal(new TextDecoder().decode(other.start()), "dn:cn=backup,dc=example,dc=com");
 * assert.equal(other.finish().authorizationId, "dn:cn=backup,dc=example,dc=com");
 * ```
 */
export class ExternalClient implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "EXTERNAL" = "EXTERNAL";
  /** EXTERNAL sends no secret, never verifies the server itself and has no layer. */
  readonly properties: MechanismProperties = EXTERNAL_PROPERTIES;
  readonly #exchange: SingleMessageExchange;
  readonly #authorizationId: string;

  /**
   * Prepares the message; nothing is sent until {@linkcode ExternalClient.start}.
   *
   * @param options The authzid, if any.
   * @throws {SaslError} `invalid-argument` when the authzid contains NUL or a lone surrogate,
   * or is longer than 1024 octets.
   */
  constructor(options: ExternalClientOptions = {}) {
    const authzid = options.authorizationId ?? "";
    if (typeof authzid !== "string" || authzid.includes("\0") || !isWellFormed(authzid)) {
      throw new SaslError(
        "invalid-argument",
        "EXTERNAL authorization id must be well-formed text without NUL",
      );
    }
    const message = utf8(authzid);
    if (message.length > MAX_AUTHZID_OCTETS) {
      throw new SaslError("invalid-argument", "EXTERNAL authorization id exceeds 1024 octets");
    }
    this.#exchange = new SingleMessageExchange("EXTERNAL", message);
    this.#authorizationId = authzid;
  }

  /**
   * Returns the authzid as the initial response.
   *
   * @returns The authzid in UTF-8; empty to act as the external identity.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    return this.#exchange.start();
  }

  /**
   * Answers an empty challenge with the same message, once; EXTERNAL has no other challenge.
   *
   * @param challenge The server's challenge; must be empty.
   * @returns The authzid again.
   * @throws {SaslError} `malformed-challenge` for a non-empty challenge, `invalid-state`
   * before `start()` or on a second challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    return this.#exchange.next(challenge);
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; EXTERNAL has no success data.
   * @returns The outcome: the authzid when one was sent, qop `auth`.
   * @throws {SaslError} `invalid-state` before the message was sent or after `finish()`,
   * `malformed-challenge` when success carries data.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    this.#exchange.finish(additionalData);
    return this.#authorizationId === ""
      ? { mechanism: "EXTERNAL", qop: "auth" }
      : { mechanism: "EXTERNAL", authorizationId: this.#authorizationId, qop: "auth" };
  }
}

/** Options of an {@linkcode ExternalServer}. */
export interface ExternalServerOptions {
  /**
   * The identity the transport established, such as the subject of a verified TLS client
   * certificate. Absent or empty: nobody was authenticated, and the exchange fails with
   * `authentication-failed`.
   */
  readonly externalIdentity?: string;
  /**
   * Decides whether the external identity may act as the authzid the client asked for.
   * Called only when the client sent a non-empty authzid. The default allows only an authzid
   * equal to the external identity.
   *
   * @param externalIdentity The identity the transport established.
   * @param authorizationId The authzid the client asked for.
   * @returns Whether to allow it.
   */
  readonly authorize?: (externalIdentity: string, authorizationId: string) => boolean;
}

/**
 * The server side of EXTERNAL (RFC 4422 Appendix A).
 *
 * Reads the authzid strictly (valid UTF-8 without NUL, at most 1024 octets). An empty one
 * means "act as the external identity"; a non-empty one goes to `authorize`.
 *
 * @example A TLS client certificate's subject as the external identity
 * ```ts
 * import { ExternalServer } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new ExternalServer({ externalIdentity: "CN=alice,O=Example" });
 * assert.deepEqual(server.next(new Uint8Array(0)), { done: true });
 * assert.equal(server.outcome().authenticationId, "CN=alice,O=Example");
 * ```
 */
export class ExternalServer implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "EXTERNAL" = "EXTERNAL";
  readonly #exchange: SingleMessageServerExchange<SaslOutcome> = new SingleMessageServerExchange(
    "EXTERNAL",
    (message) => this.#check(message),
  );
  readonly #options: ExternalServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options The external identity, and optionally the authorization policy.
   */
  constructor(options: ExternalServerOptions = {}) {
    this.#options = options;
  }

  /**
   * Takes the client's message. Without an initial response, returns an empty challenge
   * first.
   *
   * @param response The authzid (possibly empty), or `undefined` when the client sent no
   * initial response.
   * @returns An empty challenge, or `done`.
   * @throws {SaslError} `malformed-response`, `message-too-long`, `authentication-failed`
   * when there is no external identity, `authorization-failed`, or `invalid-state` when
   * called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep {
    return this.#exchange.next(response);
  }

  /**
   * What the exchange established.
   *
   * @returns The external identity as authentication identity, the authzid when one was
   * sent, qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    return this.#exchange.done();
  }

  #check(message: Uint8Array): SaslOutcome {
    if (message.length > MAX_AUTHZID_OCTETS) {
      throw new SaslError("message-too-long", "EXTERNAL authorization id exceeds 1024 octets");
    }
    if (message.includes(0)) {
      throw new SaslError("malformed-response", "EXTERNAL authorization id contains NUL");
    }
    const authzid = decodeUtf8(message);
    if (authzid === undefined) {
      throw new SaslError("malformed-response", "EXTERNAL authorization id is not valid UTF-8");
    }
    const identity = this.#options.externalIdentity;
    if (identity === undefined || identity === "") {
      throw new SaslError(
        "authentication-failed",
        "EXTERNAL: the transport established no identity (no client certificate?)",
      );
    }
    if (authzid === "") {
      return { mechanism: "EXTERNAL", authenticationId: identity, qop: "auth" };
    }
    const authorize = this.#options.authorize ?? ((id: string, as: string) => id === as);
    if (!authorize(identity, authzid)) {
      throw new SaslError(
        "authorization-failed",
        "the external identity may not act as the requested authorization identity",
      );
    }
    return {
      mechanism: "EXTERNAL",
      authenticationId: identity,
      authorizationId: authzid,
      qop: "auth",
    };
  }
}

/**
 * The EXTERNAL descriptor for the registry.
 *
 * `createClient` takes `{ kind: "external", authorizationId? }`. `createServer` takes the
 * identity the transport established from `store.externalIdentity` (read when the server is
 * built, so build one per connection) and authorizes with `store.authorize`; without an
 * external identity the exchange fails with `authentication-failed`. `redact` shows the
 * message as it is: an authzid is not secret.
 *
 * @example
 * ```ts
 * import { externalMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const context = { service: "ldap", host: "ldap.example.com" };
 * const server = externalMechanism.createServer({ externalIdentity: "CN=alice" }, context);
 * const client = await externalMechanism.createClient({ kind: "external" }, context);
 * assert.equal((await server.next(client.start()!)).done, true);
 * assert.equal(server.outcome().authenticationId, "CN=alice");
 * assert.equal(externalMechanism.redact(new TextEncoder().encode("u:bob"), {}), "u:bob");
 * ```
 */
export const externalMechanism: MechanismDescriptor = defineMechanism({
  name: "EXTERNAL",
  properties: EXTERNAL_PROPERTIES,
  credentialKind: "external",
  createClient(credentials) {
    if (credentials?.kind !== "external") {
      throw new SaslError("invalid-argument", 'EXTERNAL takes credentials of kind "external"');
    }
    return new ExternalClient({ authorizationId: credentials.authorizationId });
  },
  createServer(store) {
    return new ExternalServer({
      externalIdentity: store.externalIdentity,
      authorize: store.authorize,
    });
  },
  redact(message) {
    return shown(message, (text) => text);
  },
});
