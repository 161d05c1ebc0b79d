/**
 * The two interfaces every saslkit mechanism implements, one for each side of an exchange,
 * and the outcome a finished exchange reports.
 *
 * A client is driven by the protocol code (SMTP, IMAP, LDAP, XMPP…) in three moves:
 * {@linkcode ClientMechanism.start} for the optional initial response,
 * {@linkcode ClientMechanism.next} for every challenge, and
 * {@linkcode ClientMechanism.finish} when the server reports success. A server is driven by
 * {@linkcode ServerMechanism.next} alone. Neither side does any I/O.
 *
 * @module
 */

import type { SaslError } from "./error.ts";
import type { SecurityLayer } from "./security_layer.ts";

/** What a mechanism does with secrets and with the server; lets a policy refuse weak ones. */
export interface MechanismProperties {
  /**
   * The password or bearer token crosses the wire in a form anyone who sees it can reuse
   * (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2).
   */
  readonly sendsCleartextPassword: boolean;
  /** The client can check that the server knows the secret (DIGEST-MD5 rspauth, SCRAM). */
  readonly verifiesServer: boolean;
  /** The mechanism can negotiate an integrity or confidentiality layer. */
  readonly offersSecurityLayer: boolean;
  /** The client speaks first, so the protocol may send an initial response. */
  readonly clientFirst: boolean;
  /** The exchange is bound to the TLS channel under it (the `-PLUS` mechanisms, RFC 5056). */
  readonly channelBinding: boolean;
  /** The client can ask to act as another identity (an authorization identity, authzid). */
  readonly carriesAuthorizationId: boolean;
}

/**
 * The channel-binding types of RFC 5929 and RFC 9266: `tls-unique` (TLS 1.2 and below),
 * `tls-server-end-point` (a hash of the server's certificate) and `tls-exporter` (TLS 1.3).
 */
export type ChannelBindingType = "tls-unique" | "tls-server-end-point" | "tls-exporter";

/** The channel-binding data a TLS connection provides, by type; a type it lacks is absent. */
export type ChannelBindings = Readonly<Partial<Record<ChannelBindingType, Uint8Array>>>;

/** Protection of a finished session, as RFC 2831 names it (`auth` when there is no layer). */
export type Qop = "auth" | "auth-int" | "auth-conf";

/** What a finished exchange established. */
export interface SaslOutcome {
  /** The mechanism's registered name, such as `DIGEST-MD5`. */
  readonly mechanism: string;
  /** The identity whose credentials were checked (the username). */
  readonly authenticationId?: string;
  /** The identity the client acts as, when it asked for one other than its own. */
  readonly authorizationId?: string;
  /** The protection agreed on; `auth` means no security layer. */
  readonly qop: Qop;
  /** The cipher agreed on with `auth-conf`. */
  readonly cipher?: string;
  /** The layer to apply to all later traffic, present exactly when `qop` is not `auth`. */
  readonly securityLayer?: SecurityLayer;
  /** SCRAM: the PBKDF2 iteration count the server asked for. */
  readonly iterations?: number;
}

/**
 * The client side of one SASL exchange.
 *
 * @example Driving any client mechanism
 * ```ts
 * import { PlainClient, type ClientMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client: ClientMechanism = new PlainClient({ username: "tim", password: "tanstaaftanstaaf" });
 * const initial = client.start();
 * assert.equal(new TextDecoder().decode(initial), "\0tim\0tanstaaftanstaaf");
 * const outcome = client.finish(); // the server answered "success"
 * assert.equal(outcome.qop, "auth");
 * ```
 */
export interface ClientMechanism {
  /** The mechanism's registered name, such as `DIGEST-MD5`. */
  readonly name: string;
  /** What the mechanism does with the password and the server. */
  readonly properties: MechanismProperties;
  /**
   * Begins the exchange. Returns the initial response, or `undefined` when the mechanism
   * waits for the server's first challenge. An empty array is an empty initial response,
   * which protocols encode as `=`.
   */
  start(): Uint8Array | undefined;
  /**
   * Answers one server challenge.
   *
   * Mechanisms whose work is cheap answer synchronously; those that derive keys (SCRAM's
   * PBKDF2) return a promise, because the only native PBKDF2 in browsers, WebCrypto, is
   * asynchronous. Protocol code always awaits the result, so every mechanism drives alike.
   *
   * @throws {SaslError} when the challenge is malformed, the server fails verification,
   * or the call comes at the wrong point of the exchange (or the promise rejects with one).
   */
  next(challenge: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Accepts the server's success report and returns what was established. Protocols that
   * carry additional data with success pass it here. Throws when the server has not proved
   * itself although the mechanism can verify it.
   *
   * @throws {SaslError} `server-not-verified` or `server-verification-failed`.
   */
  finish(additionalData?: Uint8Array): SaslOutcome;
  /**
   * The failure the server reported inside the exchange, when the mechanism has a way to
   * report one before the protocol's final "failed" reply (an OAUTHBEARER error status, a
   * SCRAM `e=` attribute). A protocol reads it after that reply: `invalid-token` says a fresh
   * token may succeed.
   */
  readonly serverError?: SaslError;
}

/** One step of a server exchange. */
export interface ServerStep {
  /**
   * Data for the client: a challenge while `done` is false, or the additional data to send
   * with success when `done` is true (protocols without success data send it as one more
   * challenge and expect an empty response).
   */
  readonly challenge?: Uint8Array;
  /** The client is authenticated; call {@linkcode ServerMechanism.outcome}. */
  readonly done: boolean;
}

/**
 * The server side of one SASL exchange.
 *
 * @example Driving any server mechanism
 * ```ts
 * import { PlainServer, type ServerMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server: ServerMechanism = new PlainServer({
 *   verify: (user, password) => user === "tim" && password === "tanstaaftanstaaf",
 * });
 * const step = await server.next(new TextEncoder().encode("\0tim\0tanstaaftanstaaf"));
 * assert.equal(step.done, true);
 * assert.equal(server.outcome().authenticationId, "tim");
 * ```
 */
export interface ServerMechanism {
  /** The mechanism's registered name, such as `DIGEST-MD5`. */
  readonly name: string;
  /**
   * Takes the client's next message (`undefined` for "no initial response") and returns
   * the next challenge, or `done`. Like {@linkcode ClientMechanism.next}, it may return a
   * promise; callers always await it.
   *
   * @throws {SaslError} when the response is malformed or authentication fails.
   */
  next(response: Uint8Array | undefined): ServerStep | Promise<ServerStep>;
  /**
   * What the exchange established.
   *
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome;
}
