/**
 * The OAUTHBEARER mechanism (RFC 7628): the client sends an OAuth 2.0 bearer token (RFC 6750)
 * with a GS2 header and the host and port it connected to. A server that rejects the token
 * answers with a JSON error challenge, the client acknowledges it with a single %x01, and the
 * server then reports failure. Anyone who sees the token can reuse it until it expires: use
 * it only inside TLS.
 *
 * @module
 */

import { decodeUtf8, hasControlCharacter, utf8 } from "./_bytes.ts";
import { lookup, shown } from "./_descriptor.ts";
import {
  checkIdentity,
  checkToken,
  encodeErrorChallenge,
  isPromiseLike,
  MAX_CLIENT_MESSAGE_OCTETS,
  MAX_HOST_OCTETS,
  MAX_IDENTITY_OCTETS,
  oauthCredentials,
  type OAuthErrorDetails,
  oauthErrorOf,
  parseErrorChallenge,
  parseKvPairs,
  readBearer,
  readValidation,
  readValue,
  redactPairs,
  resolveToken,
  type TokenValidation,
  type TokenValidator,
  validatorFailure,
} from "./_oauth.ts";
import { SaslError } from "./error.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

export type {
  OAuthErrorDetails,
  OAuthMechanismName,
  TokenRequest,
  TokenValidation,
  TokenValidator,
} from "./_oauth.ts";

const KVSEP = new Uint8Array([0x01]);

/**
 * The bearer token crosses the wire in a form anyone who sees it can reuse, so OAUTHBEARER
 * counts as sending a cleartext password ("password or bearer token").
 */
const OAUTHBEARER_PROPERTIES: MechanismProperties = Object.freeze({
  sendsCleartextPassword: true,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: true,
});

/** Options of an {@linkcode OAuthBearerClient}. */
export interface OAuthBearerClientOptions {
  /** The OAuth 2.0 access token, sent as `auth=Bearer <token>`; printable ASCII, no spaces. */
  readonly token: string;
  /**
   * The identity to act as, sent in the GS2 header as `a=` (`,` and `=` escaped as `=2C` and
   * `=3D`). Most servers expect the user's address here; omit it to let the token decide.
   */
  readonly authorizationId?: string;
  /** The host name the client connected to, sent as `host=` when given. */
  readonly host?: string;
  /** The port the client connected to, sent as `port=` when given. */
  readonly port?: number;
}

type ClientState = "initial" | "sent" | "resent" | "error-acknowledged" | "finished" | "failed";

/**
 * The client side of OAUTHBEARER (RFC 7628).
 *
 * `start()` returns the whole client response:
 * `n,a=<authzid>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A` (`^A` is %x01; `a=`,
 * `host=` and `port=` only when given). When the server answers with its JSON error challenge
 * (RFC 7628 §3.2.2), `next()` returns the single %x01 the RFC demands and keeps the parsed
 * error in {@linkcode OAuthBearerClient.serverError}; the server's final failure reply follows,
 * and a protocol layer reads `serverError` to learn whether a fresh token may help
 * (`invalid-token`).
 *
 * @example RFC 7628 §4.1 and §4.3: a token accepted, then a token rejected
 * ```ts
 * import { OAuthBearerClient } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const options = {
 *   token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
 *   authorizationId: "user@example.com",
 *   host: "server.example.com",
 *   port: 143,
 * };
 * const client = new OAuthBearerClient(options);
 * assert.equal(
 *   new TextDecoder().decode(client.start()),
 *   "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01" +
 *     "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
 * );
 * assert.equal(client.finish().authorizationId, "user@example.com"); // server said OK
 *
 * const rejected = new OAuthBearerClient(options);
 * rejected.start();
 * const error = new TextEncoder().encode(
 *   '{"status":"invalid_token","scope":"example_scope",' +
 *     '"openid-configuration":"https://example.com/.well-known/openid-configuration"}',
 * );
 * assert.deepEqual(rejected.next(error), new Uint8Array([0x01]));
 * // The server now replies with failure; the reason is kept:
 * assert.equal(rejected.serverError?.code, "invalid-token");
 * assert.equal(rejected.serverErrorDetails?.scope, "example_scope");
 * ```
 */
export class OAuthBearerClient implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "OAUTHBEARER" = "OAUTHBEARER";
  /**
   * OAUTHBEARER sends a bearer token anyone who sees it can reuse (`sendsCleartextPassword`),
   * never verifies the server and has no layer.
   */
  readonly properties: MechanismProperties = OAUTHBEARER_PROPERTIES;
  #state: ClientState = "initial";
  #message: Uint8Array;
  #serverErrorDetails: OAuthErrorDetails | undefined;
  #serverError: SaslError | undefined;
  readonly #authorizationId: string;

  /**
   * Prepares the client response; nothing is sent until {@linkcode OAuthBearerClient.start}.
   *
   * @param options The token, and optionally the authzid, host and port.
   * @throws {SaslError} `invalid-argument` for an empty token or one outside printable ASCII,
   * an authzid with control characters or longer than 1024 octets, a host that is not 1 to
   * 255 printable ASCII characters, or a port outside 0–65535.
   */
  constructor(options: OAuthBearerClientOptions) {
    const token = checkToken("OAUTHBEARER", options.token);
    const authzid = checkIdentity(
      "OAUTHBEARER",
      "authorization id",
      options.authorizationId ?? "",
      true,
    );
    let pairs = "";
    if (options.host !== undefined) {
      if (
        typeof options.host !== "string" || !/^[\x21-\x7e]+$/.test(options.host) ||
        options.host.length > MAX_HOST_OCTETS
      ) {
        throw new SaslError(
          "invalid-argument",
          "OAUTHBEARER host must be 1 to 255 printable ASCII characters (an A-label for IDNs)",
        );
      }
      pairs += `host=${options.host}\x01`;
    }
    if (options.port !== undefined) {
      if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
        throw new SaslError("invalid-argument", "OAUTHBEARER port must be an integer 0–65535");
      }
      pairs += `port=${options.port}\x01`;
    }
    const header = authzid === "" ? "n,," : `n,a=${escapeSaslName(authzid)},`;
    this.#message = utf8(`${header}\x01${pairs}auth=Bearer ${token}\x01\x01`);
    if (this.#message.length > MAX_CLIENT_MESSAGE_OCTETS) {
      this.#wipe();
      throw new SaslError(
        "invalid-argument",
        `OAUTHBEARER client response exceeds ${MAX_CLIENT_MESSAGE_OCTETS} octets`,
      );
    }
    this.#authorizationId = authzid;
  }

  /**
   * The error the server reported in its JSON error challenge, once it has sent one:
   * `invalid-token` for status `invalid_token` (or `401`), where a fresh token may help;
   * `oauth-error` for any other status. The message quotes status and scope, never the
   * token. `undefined` while the server has reported nothing.
   */
  get serverError(): SaslError | undefined {
    return this.#serverError;
  }

  /** The members of the server's JSON error challenge, once it has sent one. */
  get serverErrorDetails(): OAuthErrorDetails | undefined {
    return this.#serverErrorDetails;
  }

  /**
   * Returns the client response as the initial response.
   *
   * @returns The GS2 header and the key/value pairs, in UTF-8.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    this.#state = "sent";
    return this.#message.slice();
  }

  /**
   * Answers a challenge: an empty one (the protocol could not carry the initial response)
   * with the client response, once; the JSON error challenge with a single %x01.
   *
   * @param challenge The server's challenge.
   * @returns The client response, or `[0x01]` after an error challenge.
   * @throws {SaslError} `malformed-challenge` or `message-too-long` for a challenge that is
   * not a JSON error object of at most 4096 octets with a string `status`; `invalid-state`
   * before `start()`, after the error was acknowledged, or on a second empty challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    switch (this.#state) {
      case "initial":
        throw new SaslError("invalid-state", "next() called before start()");
      case "error-acknowledged":
        throw new SaslError(
          "invalid-state",
          "the server already reported an error; only its failure reply may follow",
        );
      case "finished":
      case "failed":
        throw new SaslError("invalid-state", "the OAUTHBEARER exchange is over");
    }
    if (challenge.length === 0) {
      if (this.#state === "resent") {
        throw new SaslError("invalid-state", "OAUTHBEARER expects at most one empty challenge");
      }
      this.#state = "resent";
      return this.#message.slice();
    }
    let details: OAuthErrorDetails;
    try {
      details = parseErrorChallenge("OAUTHBEARER", challenge);
    } catch (error) {
      this.#state = "failed";
      this.#wipe();
      throw error;
    }
    this.#serverErrorDetails = details;
    this.#serverError = oauthErrorOf("OAUTHBEARER", details);
    this.#state = "error-acknowledged";
    this.#wipe();
    return KVSEP.slice();
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; OAUTHBEARER has no success data.
   * @returns The outcome: the authzid when one was sent, qop `auth`.
   * @throws {SaslError} `invalid-state` before the response was sent or after `finish()`;
   * `malformed-challenge` when success carries data or follows an error challenge.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    if (this.#state === "error-acknowledged") {
      this.#state = "failed";
      throw new SaslError(
        "malformed-challenge",
        "OAUTHBEARER server reported success after an error challenge",
      );
    }
    if (this.#state !== "sent" && this.#state !== "resent") {
      throw new SaslError("invalid-state", "finish() called before the token was sent");
    }
    if (additionalData !== undefined && additionalData.length !== 0) {
      this.#state = "failed";
      this.#wipe();
      throw new SaslError("malformed-challenge", "OAUTHBEARER success carries no additional data");
    }
    this.#state = "finished";
    this.#wipe();
    return this.#authorizationId === ""
      ? { mechanism: "OAUTHBEARER", qop: "auth" }
      : { mechanism: "OAUTHBEARER", authorizationId: this.#authorizationId, qop: "auth" };
  }

  #wipe(): void {
    this.#message.fill(0);
    this.#message = new Uint8Array(0);
  }
}

/** Options of an {@linkcode OAuthBearerServer}. */
export interface OAuthBearerServerOptions {
  /**
   * Checks the token and says whose it is, or which OAuth error to report (sent to the client
   * as the JSON error challenge of RFC 7628 §3.2.2). May return a promise. A throw fails the
   * exchange with `authentication-failed` (a thrown `SaslError` passes as it is), the thrown
   * value as its `cause`.
   */
  readonly validate: TokenValidator;
  /**
   * Decides whether the token's owner may act as the authzid of the GS2 header. Called only
   * after `validate` accepted the token and only when the client sent an authzid. The default
   * allows only an authzid equal to the authentication identity.
   *
   * @param authenticationId The identity `validate` returned.
   * @param authorizationId The authzid the client sent.
   * @returns Whether to allow it.
   */
  readonly authorize?: (authenticationId: string, authorizationId: string) => boolean;
}

type ServerState = "initial" | "challenged" | "validating" | "error-sent" | "done" | "failed";

interface ClientResponse {
  readonly authorizationId: string;
  readonly host?: string;
  readonly port?: number;
  readonly token: string;
}

/**
 * The server side of OAUTHBEARER (RFC 7628).
 *
 * Parses the client response strictly by the grammar of RFC 7628 §3.1: a GS2 header `n,` or
 * `y,` (channel binding `p=` and the non-standard `F,` are refused) with an optional `a=`
 * saslname; then `key=value` pairs with keys of letters and values of VCHAR / SP / HTAB / CR /
 * LF, each ended by %x01, the list ended by one more %x01. `auth` (`Bearer` SP token) is
 * required; `host` and `port` (decimal, at most 65535) are optional; other keys are ignored;
 * no key may appear twice. At most 64 KiB in all, authzid at most 1024 octets, host at most
 * 255, at most 32 pairs.
 *
 * A token the validator rejects is answered with the JSON error challenge; the client must
 * acknowledge it with a single %x01, and `next()` then throws `invalid-token` (status
 * `invalid_token` or `401`) or `oauth-error`, for the protocol's failure reply.
 *
 * @example A token accepted, and one rejected (RFC 7628 §4.3)
 * ```ts
 * import { OAuthBearerServer, SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = () =>
 *   new OAuthBearerServer({
 *     validate: (token) =>
 *       token === "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==" ? { authenticationId: "user@example.com" }
 *       : { error: { status: "invalid_token", scope: "example_scope" } },
 *   });
 * const text = new TextEncoder();
 * const good = server();
 * const step = await good.next(text.encode(
 *   "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01" +
 *     "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
 * ));
 * assert.equal(step.done, true);
 * assert.equal(good.outcome().authenticationId, "user@example.com");
 *
 * const bad = server();
 * const error = await bad.next(text.encode("n,,\x01auth=Bearer expired\x01\x01"));
 * assert.equal(new TextDecoder().decode(error.challenge),
 *   '{"status":"invalid_token","scope":"example_scope"}');
 * await assert.rejects(async () => await bad.next(new Uint8Array([0x01])),
 *   (e) => e instanceof SaslError && e.code === "invalid-token");
 * ```
 */
export class OAuthBearerServer implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "OAUTHBEARER" = "OAUTHBEARER";
  #state: ServerState = "initial";
  #outcome: SaslOutcome | undefined;
  #error: OAuthErrorDetails | undefined;
  readonly #options: OAuthBearerServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options The token validator, and optionally the authorization policy.
   * @throws {SaslError} `invalid-argument` when `validate` is not a function.
   */
  constructor(options: OAuthBearerServerOptions) {
    if (typeof options?.validate !== "function") {
      throw new SaslError("invalid-argument", "OAUTHBEARER server needs a validate function");
    }
    this.#options = options;
  }

  /**
   * Takes the client's response. Without an initial response, returns an empty challenge
   * first. Returns a promise exactly when the validator does.
   *
   * @param response The client's message, or `undefined` when it sent no initial response.
   * @returns An empty challenge, the JSON error challenge, or `done`.
   * @throws {SaslError} `malformed-response` or `message-too-long` for a response outside the
   * grammar or the limits; `authorization-failed` when the token's owner may not act as the
   * authzid; `invalid-token` or `oauth-error` after the client acknowledged an error challenge;
   * `authentication-failed` when the validator throws; `invalid-argument` when it returns
   * something else than a verdict; `invalid-state` when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep | Promise<ServerStep> {
    if (response === undefined) {
      if (this.#state !== "initial") {
        throw new SaslError("invalid-state", "no response given after the challenge");
      }
      this.#state = "challenged";
      return { challenge: new Uint8Array(0), done: false };
    }
    if (this.#state === "error-sent") {
      this.#state = "failed";
      if (response.length !== 1 || response[0] !== 0x01) {
        throw new SaslError(
          "malformed-response",
          "OAUTHBEARER client must acknowledge the error challenge with a single %x01",
        );
      }
      throw oauthErrorOf("OAUTHBEARER", this.#error!);
    }
    if (this.#state !== "initial" && this.#state !== "challenged") {
      throw new SaslError(
        "invalid-state",
        this.#state === "validating" ? "the token is being validated" : "the exchange is over",
      );
    }
    let parsed: ClientResponse;
    let verdict: TokenValidation | Promise<TokenValidation>;
    try {
      parsed = parseClientResponse(response);
      this.#state = "validating";
      const request = {
        mechanism: "OAUTHBEARER" as const,
        ...(parsed.authorizationId === "" ? {} : { authorizationId: parsed.authorizationId }),
        ...(parsed.host === undefined ? {} : { host: parsed.host }),
        ...(parsed.port === undefined ? {} : { port: parsed.port }),
      };
      try {
        verdict = this.#options.validate(parsed.token, request);
      } catch (error) {
        throw validatorFailure("OAUTHBEARER", error);
      }
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
    if (isPromiseLike(verdict)) {
      return Promise.resolve(verdict).then(
        (result) => this.#conclude(parsed, result),
        (error) => {
          this.#state = "failed";
          throw validatorFailure("OAUTHBEARER", error);
        },
      );
    }
    return this.#conclude(parsed, verdict);
  }

  /**
   * What the exchange established.
   *
   * @returns The identity the validator returned, the authzid when one was sent, qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    if (this.#state !== "done" || this.#outcome === undefined) {
      throw new SaslError("invalid-state", "the OAUTHBEARER exchange is not done");
    }
    return this.#outcome;
  }

  #conclude(parsed: ClientResponse, result: unknown): ServerStep {
    try {
      const verdict = readValidation("OAUTHBEARER", result);
      if ("error" in verdict) {
        const challenge = encodeErrorChallenge("OAUTHBEARER", verdict.error);
        this.#error = parseErrorChallenge("OAUTHBEARER", challenge);
        this.#state = "error-sent";
        return { challenge, done: false };
      }
      const { authenticationId } = verdict;
      const authzid = parsed.authorizationId;
      if (authzid !== "") {
        const authorize = this.#options.authorize ?? ((id: string, as: string) => id === as);
        if (!authorize(authenticationId, authzid)) {
          throw new SaslError(
            "authorization-failed",
            "the token's owner may not act as the requested authorization identity",
          );
        }
      }
      this.#outcome = authzid === ""
        ? { mechanism: "OAUTHBEARER", authenticationId, qop: "auth" }
        : { mechanism: "OAUTHBEARER", authenticationId, authorizationId: authzid, qop: "auth" };
      this.#state = "done";
      return { done: true };
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
  }
}

/** Escapes a saslname (RFC 5801): `=` as `=3D`, `,` as `=2C`. */
function escapeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

const GS2_HEADER = /^([ny]|p=[^,]*|F),(?:a=([^,]*))?,$/s;

function parseClientResponse(message: Uint8Array): ClientResponse {
  if (message.length > MAX_CLIENT_MESSAGE_OCTETS) {
    throw new SaslError(
      "message-too-long",
      `OAUTHBEARER client response exceeds ${MAX_CLIENT_MESSAGE_OCTETS} octets`,
    );
  }
  const kvsep = message.indexOf(0x01);
  if (kvsep < 0) {
    throw new SaslError("malformed-response", "OAUTHBEARER client response has no %x01");
  }
  const headerBytes = message.subarray(0, kvsep);
  if (headerBytes.length > MAX_IDENTITY_OCTETS * 3 + 8) {
    throw new SaslError("message-too-long", "OAUTHBEARER GS2 header is too long");
  }
  const header = decodeUtf8(headerBytes);
  if (header === undefined) {
    throw new SaslError("malformed-response", "OAUTHBEARER GS2 header is not valid UTF-8");
  }
  const match = GS2_HEADER.exec(header);
  if (match === null) {
    throw new SaslError(
      "malformed-response",
      'OAUTHBEARER GS2 header must be "n," or "y," then an optional a=authzid, then ","',
    );
  }
  if (match[1] === "F") {
    throw new SaslError(
      "malformed-response",
      "OAUTHBEARER does not use the non-standard GS2 flag F",
    );
  }
  if (match[1].startsWith("p=")) {
    throw new SaslError("malformed-response", "OAUTHBEARER does not support channel binding");
  }
  const authorizationId = match[2] === undefined ? "" : unescapeSaslName(match[2]);

  const pairs = parseKvPairs("OAUTHBEARER", message, kvsep + 1);
  const auth = pairs.get("auth");
  if (auth === undefined) {
    throw new SaslError("malformed-response", "OAUTHBEARER client response has no auth value");
  }
  for (const [key, value] of pairs) {
    // Unknown keys are ignored, but must still follow the value grammar.
    if (key !== "auth") readValue("OAUTHBEARER", key, value);
  }
  const token = readBearer("OAUTHBEARER", auth);
  let host: string | undefined;
  const hostBytes = pairs.get("host");
  if (hostBytes !== undefined) {
    if (hostBytes.length > MAX_HOST_OCTETS) {
      throw new SaslError("message-too-long", "OAUTHBEARER host exceeds 255 octets");
    }
    host = readValue("OAUTHBEARER", "host", hostBytes);
  }
  let port: number | undefined;
  const portBytes = pairs.get("port");
  if (portBytes !== undefined) {
    const text = readValue("OAUTHBEARER", "port", portBytes);
    if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
      throw new SaslError("malformed-response", "OAUTHBEARER port must be a number 0–65535");
    }
    port = Number(text);
  }
  return { authorizationId, host, port, token };
}

/** Decodes a saslname: non-empty, no NUL, `=` only in `=2C` and `=3D`. */
function unescapeSaslName(text: string): string {
  if (text === "" || text.includes("\0")) {
    throw new SaslError("malformed-response", "OAUTHBEARER authzid must be a non-empty saslname");
  }
  if (utf8(text).length > MAX_IDENTITY_OCTETS) {
    throw new SaslError("message-too-long", "OAUTHBEARER authzid exceeds 1024 octets");
  }
  if (/=(?!2C|3D)/.test(text)) {
    throw new SaslError("malformed-response", "OAUTHBEARER authzid has a bad =XX escape");
  }
  const name = text.replace(/=2C|=3D/g, (escape) => escape === "=2C" ? "," : "=");
  if (hasControlCharacter(name)) {
    throw new SaslError("malformed-response", "OAUTHBEARER authzid contains a control character");
  }
  return name;
}

/**
 * The OAUTHBEARER descriptor for the registry.
 *
 * `createClient` is asynchronous: it resolves `credentials.token`, calling a provider with
 * `{ refresh: context.refreshToken ?? false }`, and sends `credentials.username` as the
 * authzid (`a=`) and the context's host and port. `createServer` validates with
 * `store.token` and authorizes with `store.authorize`. `redact` keeps the GS2 header, `host`
 * and `port`, and shows the token as `***`.
 *
 * @example A token provider, asked again for a fresh token after `invalid-token`
 * ```ts
 * import { oauthBearerMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const asked: boolean[] = [];
 * const credentials = {
 *   kind: "oauth" as const,
 *   username: "user@example.com",
 *   token: ({ refresh }: { refresh: boolean }) => (asked.push(refresh), refresh ? "fresh" : "stale"),
 * };
 * const context = { service: "imap", host: "server.example.com", port: 143 };
 * const client = await oauthBearerMechanism.createClient(credentials, context);
 * const initial = client.start()!;
 * assert.equal(
 *   oauthBearerMechanism.redact(initial, {}),
 *   "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer ***\x01\x01",
 * );
 * await oauthBearerMechanism.createClient(credentials, { ...context, refreshToken: true });
 * assert.deepEqual(asked, [false, true]);
 * ```
 */
export const oauthBearerMechanism: MechanismDescriptor = defineMechanism({
  name: "OAUTHBEARER",
  properties: OAUTHBEARER_PROPERTIES,
  credentialKind: "oauth",
  async createClient(credentials, context) {
    const { username, token } = oauthCredentials("OAUTHBEARER", credentials);
    return new OAuthBearerClient({
      token: await resolveToken("OAUTHBEARER", token, context.refreshToken ?? false),
      authorizationId: username,
      host: context.host,
      port: context.port,
    });
  },
  createServer(store) {
    return new OAuthBearerServer({
      validate: lookup("OAUTHBEARER", store, "token"),
      authorize: store.authorize,
    });
  },
  redact(message) {
    // The GS2 header and host/port are not secret; the token is. The %x01 answer to an
    // error challenge stays as it is.
    return shown(message, (text) => {
      const kvsep = text.indexOf("\x01");
      if (kvsep < 0) return "***";
      const rest = text.slice(kvsep + 1);
      return text.slice(0, kvsep + 1) + (rest === "" ? "" : redactPairs(rest, ["host", "port"]));
    });
  },
});
