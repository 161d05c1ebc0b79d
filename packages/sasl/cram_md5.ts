/**
 * The CRAM-MD5 mechanism (RFC 2195): the server sends a unique challenge and the client
 * answers `username SP hex(HMAC-MD5(password, challenge))`. The password never crosses the
 * wire, but the server must store it in the clear, and the server is never verified.
 *
 * @module
 */

import { decodeUtf8, hex, randomBytes, timingSafeEqual, utf8 } from "./_bytes.ts";
import { hmacMd5 } from "./_hash.ts";
import { SaslError } from "./error.ts";
import { lookup, passwordCredentials, shown } from "./_descriptor.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

// Real challenges are under 100 octets; the cap only bounds what a hostile server can send.
const MAX_CHALLENGE_OCTETS = 2048;
// A response is a username, a space and 32 hex digits; this leaves room for long usernames.
const MAX_RESPONSE_OCTETS = 1024;
const DIGEST_HEX_LENGTH = 32;

const CRAM_MD5_PROPERTIES: MechanismProperties = /* @__PURE__ */ Object.freeze({
  sendsCleartextPassword: false,
  verifiesServer: false,
  offersSecurityLayer: false,
  clientFirst: false,
  channelBinding: false,
  carriesAuthorizationId: false,
});

/** Options of a {@linkcode CramMd5Client}. */
export interface CramMd5ClientOptions {
  /** The username, sent in the clear before the digest. */
  readonly username: string;
  /** The password, the HMAC-MD5 key (as UTF-8); it is never sent. */
  readonly password: string;
}

type CramMd5ClientState = "initial" | "awaiting-challenge" | "responded" | "finished" | "failed";

/**
 * The client side of CRAM-MD5 (RFC 2195).
 *
 * The challenge must look like a message id, `<...>`, of printable ASCII and at most 2048
 * octets; what is between the brackets is not checked.
 *
 * @example The exchange of RFC 2195 §2
 * ```ts
 * import { CramMd5Client } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = new CramMd5Client({ username: "tim", password: "tanstaaftanstaaf" });
 * assert.equal(client.start(), undefined); // the server speaks first
 * const challenge = new TextEncoder().encode("<1896.697170952@postoffice.reston.mci.net>");
 * const response = new TextDecoder().decode(client.next(challenge));
 * assert.equal(response, "tim b913a602c7eda7a495b4e6e7334d3890");
 * assert.equal(client.finish().authenticationId, "tim");
 * ```
 */
export class CramMd5Client implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "CRAM-MD5" = "CRAM-MD5";
  /** CRAM-MD5 hides the password but never verifies the server and has no layer. */
  readonly properties: MechanismProperties = CRAM_MD5_PROPERTIES;
  #state: CramMd5ClientState = "initial";
  #key: Uint8Array;
  readonly #username: string;

  /**
   * Keeps the credentials for the one challenge to come.
   *
   * @param options The credentials.
   * @throws {SaslError} `invalid-argument` when the username or password is empty.
   */
  constructor(options: CramMd5ClientOptions) {
    if (options.username === "") {
      throw new SaslError("invalid-argument", "CRAM-MD5 username must not be empty");
    }
    if (options.password === "") {
      throw new SaslError("invalid-argument", "CRAM-MD5 password must not be empty");
    }
    this.#username = options.username;
    this.#key = utf8(options.password);
  }

  /**
   * Begins the exchange; CRAM-MD5 has no initial response.
   *
   * @returns `undefined`.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array | undefined {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    this.#state = "awaiting-challenge";
    return undefined;
  }

  /**
   * Answers the server's challenge.
   *
   * @param challenge The server's `<...>` challenge.
   * @returns `username SP digest`, the digest in lower-case hex.
   * @throws {SaslError} `malformed-challenge` or `message-too-long` for a bad challenge,
   * `invalid-state` before `start()` or on a second challenge.
   */
  next(challenge: Uint8Array): Uint8Array {
    if (this.#state !== "awaiting-challenge") {
      throw new SaslError(
        "invalid-state",
        this.#state === "initial"
          ? "next() called before start()"
          : "CRAM-MD5 expects exactly one challenge",
      );
    }
    const problem = challengeProblem(challenge);
    if (problem !== undefined) {
      this.#state = "failed";
      this.#wipe();
      throw new SaslError(problem.code, problem.message);
    }
    const digest = hex(hmacMd5(this.#key, challenge));
    this.#state = "responded";
    this.#wipe();
    return utf8(`${this.#username} ${digest}`);
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; CRAM-MD5 has no success data.
   * @returns The outcome, with qop `auth`.
   * @throws {SaslError} `invalid-state` before the response was sent or after `finish()`,
   * `malformed-challenge` when success carries data.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    if (this.#state !== "responded") {
      throw new SaslError("invalid-state", "finish() called before the response was sent");
    }
    if (additionalData !== undefined && additionalData.length !== 0) {
      this.#state = "failed";
      throw new SaslError("malformed-challenge", "CRAM-MD5 success carries no additional data");
    }
    this.#state = "finished";
    return { mechanism: "CRAM-MD5", authenticationId: this.#username, qop: "auth" };
  }

  #wipe(): void {
    this.#key.fill(0);
    this.#key = new Uint8Array(0);
  }
}

/** Options of a {@linkcode CramMd5Server}. */
export interface CramMd5ServerOptions {
  /**
   * Looks up a user's password; CRAM-MD5 needs it in the clear.
   *
   * @param username The username the client sent.
   * @returns The password, or `undefined` for an unknown user.
   */
  readonly password: (username: string) => string | undefined;
  /** The host name in the default challenge `<random.timestamp@host>`; default `localhost`. */
  readonly host?: string;
  /**
   * Makes the whole challenge, for tests; it must be `<...>` of printable ASCII. The default
   * is `<random.timestamp@host>` with 64 random bits.
   */
  readonly challenge?: () => string;
}

type CramMd5ServerState = "initial" | "challenged" | "done" | "failed";

/**
 * The server side of CRAM-MD5 (RFC 2195).
 *
 * Issues a fresh challenge, recomputes the digest with the stored password and compares it in
 * constant time. An unknown user costs the same HMAC as a known one.
 *
 * @example Checking the response of RFC 2195 §2
 * ```ts
 * import { CramMd5Server } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new CramMd5Server({
 *   password: (user) => user === "tim" ? "tanstaaftanstaaf" : undefined,
 *   challenge: () => "<1896.697170952@postoffice.reston.mci.net>",
 * });
 * const challenge = new TextDecoder().decode(server.next(undefined).challenge);
 * assert.equal(challenge, "<1896.697170952@postoffice.reston.mci.net>");
 * const response = new TextEncoder().encode("tim b913a602c7eda7a495b4e6e7334d3890");
 * assert.equal(server.next(response).done, true);
 * assert.equal(server.outcome().authenticationId, "tim");
 * ```
 */
export class CramMd5Server implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "CRAM-MD5" = "CRAM-MD5";
  #state: CramMd5ServerState = "initial";
  #challenge: Uint8Array = new Uint8Array(0);
  #username = "";
  readonly #options: CramMd5ServerOptions;

  /**
   * Creates a server for one exchange.
   *
   * @param options The password lookup, and optionally the host name or challenge maker.
   * @throws {SaslError} `invalid-argument` when `host` is empty or not printable ASCII
   * without spaces and angle brackets.
   */
  constructor(options: CramMd5ServerOptions) {
    if (options.host !== undefined && !/^[\x21-\x3b\x3d\x3f-\x7e]+$/.test(options.host)) {
      throw new SaslError("invalid-argument", "CRAM-MD5 host must be printable ASCII");
    }
    this.#options = options;
  }

  /**
   * Issues the challenge, then checks the response.
   *
   * @param response `undefined` to begin (CRAM-MD5 has no initial response), then the
   * client's `username SP digest`.
   * @returns The challenge, or `done`.
   * @throws {SaslError} `malformed-response`, `message-too-long`, `authentication-failed`,
   * `invalid-argument` when the `challenge` option makes a bad challenge, or `invalid-state`
   * when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep {
    if (this.#state === "initial") {
      if (response !== undefined) {
        this.#state = "failed";
        throw new SaslError("malformed-response", "CRAM-MD5 has no initial response");
      }
      this.#challenge = this.#makeChallenge();
      this.#state = "challenged";
      return { challenge: this.#challenge.slice(), done: false };
    }
    if (this.#state !== "challenged" || response === undefined) {
      throw new SaslError("invalid-state", "CRAM-MD5 expects one response to its challenge");
    }
    try {
      this.#username = this.#check(response);
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
    this.#state = "done";
    return { done: true };
  }

  /**
   * What the exchange established.
   *
   * @returns The username and qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    if (this.#state !== "done") {
      throw new SaslError("invalid-state", "the CRAM-MD5 exchange is not done");
    }
    return { mechanism: "CRAM-MD5", authenticationId: this.#username, qop: "auth" };
  }

  #makeChallenge(): Uint8Array {
    const make = this.#options.challenge;
    if (make === undefined) {
      const random = new DataView(randomBytes(8).buffer);
      const id = `${random.getUint32(0)}${random.getUint32(4)}`;
      return utf8(`<${id}.${Date.now()}@${this.#options.host ?? "localhost"}>`);
    }
    const challenge = utf8(make());
    if (challengeProblem(challenge) !== undefined) {
      throw new SaslError("invalid-argument", "the challenge option made an invalid challenge");
    }
    return challenge;
  }

  #check(response: Uint8Array): string {
    if (response.length > MAX_RESPONSE_OCTETS) {
      throw new SaslError("message-too-long", `CRAM-MD5 response exceeds ${MAX_RESPONSE_OCTETS}`);
    }
    const text = decodeUtf8(response);
    if (text === undefined) {
      throw new SaslError("malformed-response", "CRAM-MD5 response is not valid UTF-8");
    }
    // Usernames may contain spaces; the digest is what follows the last one.
    const space = text.lastIndexOf(" ");
    if (space < 0) {
      throw new SaslError("malformed-response", "CRAM-MD5 response has no space");
    }
    const username = text.slice(0, space);
    const digestHex = text.slice(space + 1);
    if (username === "") {
      throw new SaslError("malformed-response", "CRAM-MD5 username is empty");
    }
    if (digestHex.length !== DIGEST_HEX_LENGTH) {
      throw new SaslError("malformed-response", "CRAM-MD5 digest is not 32 hex digits");
    }
    if (!/^[0-9a-fA-F]+$/.test(digestHex)) {
      throw new SaslError("malformed-response", "CRAM-MD5 digest is not hexadecimal");
    }
    const digest = new Uint8Array(DIGEST_HEX_LENGTH / 2);
    for (let i = 0; i < digest.length; i++) {
      digest[i] = parseInt(digestHex.slice(2 * i, 2 * i + 2), 16);
    }
    const password = this.#options.password(username);
    // An unknown user gets the same HMAC and comparison, so timing does not reveal it.
    const expected = hmacMd5(utf8(password ?? ""), this.#challenge);
    const match = timingSafeEqual(expected, digest);
    if (password === undefined || !match) {
      throw new SaslError("authentication-failed", "wrong username or password");
    }
    return username;
  }
}

function challengeProblem(
  challenge: Uint8Array,
): { code: "malformed-challenge" | "message-too-long"; message: string } | undefined {
  if (challenge.length === 0) {
    return { code: "malformed-challenge", message: "CRAM-MD5 challenge is empty" };
  }
  if (challenge.length > MAX_CHALLENGE_OCTETS) {
    return {
      code: "message-too-long",
      message: `CRAM-MD5 challenge exceeds ${MAX_CHALLENGE_OCTETS} octets`,
    };
  }
  for (const byte of challenge) {
    if (byte < 0x20 || byte > 0x7e) {
      return {
        code: "malformed-challenge",
        message: "CRAM-MD5 challenge contains a non-printable octet",
      };
    }
  }
  if (challenge.length < 3 || challenge[0] !== 0x3c || challenge[challenge.length - 1] !== 0x3e) {
    return { code: "malformed-challenge", message: "CRAM-MD5 challenge is not of the form <...>" };
  }
  return undefined;
}

/**
 * CRAM-MD5 in the mechanism registry: password credentials without an authorization identity;
 * the server side needs the plaintext `store.password`; a transcript shows the username only.
 *
 * @example
 * ```ts
 * import { cramMd5Mechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const response = new TextEncoder().encode("tim b913a602c7eda7a495b4e6e7334d3890");
 * assert.equal(cramMd5Mechanism.redact(response, {}), "tim ***");
 * ```
 */
export const cramMd5Mechanism: MechanismDescriptor = /* @__PURE__ */ defineMechanism({
  name: "CRAM-MD5",
  properties: CRAM_MD5_PROPERTIES,
  credentialKind: "password",
  createClient(credentials) {
    const { username, password, authorizationId } = passwordCredentials("CRAM-MD5", credentials);
    if (authorizationId) {
      throw new SaslError("invalid-argument", "CRAM-MD5 cannot carry an authorization identity");
    }
    return new CramMd5Client({ username, password });
  },
  createServer(store, context) {
    return new CramMd5Server({
      password: lookup("CRAM-MD5", store, "password"),
      host: context.host,
    });
  },
  redact(message) {
    return shown(message, (text) => {
      const space = text.lastIndexOf(" ");
      return space > 0 ? `${text.slice(0, space)} ***` : "***";
    });
  },
});
