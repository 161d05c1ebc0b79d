/**
 * saslkit inside xmpp.js (`@xmpp/client` 0.14): SCRAM-SHA-256, SCRAM-SHA-1 (and SHA-512), each
 * also as `-PLUS` with channel binding, and PLAIN, from the `@saslkit/sasl` registry, with the
 * server's signature verified before xmpp.js may report success.
 *
 * {@linkcode useSaslkit} puts one mechanism class per registry entry at the front of
 * `client.saslFactory` (in the `saslmechanisms` shape xmpp.js uses: `name`, `clientFirst`,
 * `response()`, `challenge()`, `final()`), replacing xmpp.js's own SCRAM-SHA-1 and PLAIN, which
 * never check the server. Registration order is xmpp.js's priority, so the first mechanism of
 * the registry's order that the server offers and the connection allows is used:
 *
 * - a `-PLUS` variant only when the TLS connection provides binding data: `tls-unique` (the
 *   first Finished message) below TLS 1.3, `tls-exporter` on TLS 1.3 (Node's
 *   `exportKeyingMaterial`). Prosody 0.12 binds only with `tls-unique`.
 * - PLAIN only over TLS (xmpp.js also skips it on an insecure connection).
 *
 * **How the server signature is verified.** SCRAM's server-final message (`v=…`) arrives as
 * the data of `<success>` (RFC 6120 §6.3.10), and xmpp.js's SASL1 code drops it without asking
 * the mechanism. So `useSaslkit` listens to the client's `nonza` events ahead of xmpp.js
 * (`prependListener`) and checks every `<success>` (SASL1, or SASL2's `<additional-data>`)
 * that ends one of its exchanges, synchronously, before xmpp.js's own listener sees it. When the
 * check fails (a wrong `v=`, or no server-final at all) it turns that element into an empty
 * `<challenge>`, which xmpp.js hands to the mechanism, which throws the `SaslError`: xmpp.js's
 * `start()` rejects with it (`server-verification-failed` or `server-not-verified`), the stream
 * is never restarted and no `online` event is emitted. A `<failure>` becomes a `SaslError` the
 * same way (`authentication-failed` for `not-authorized`, `account-disabled` and
 * `credentials-expired`; `authorization-failed` for `invalid-authzid`; otherwise
 * `server-rejected`), with the server's condition in the message.
 *
 * xmpp.js's `@xmpp/base64` is `btoa`/`atob`: strings carry one byte per character, so the
 * mechanisms exchange byte strings (a UTF-8 password reaches the server as UTF-8).
 *
 * @example Logging in to an XMPP server with SCRAM (`-PLUS` where the TLS connection allows)
 * ```ts ignore
 * import { client } from "@xmpp/client";
 * import { useSaslkit } from "@saslkit/adapters/xmpp";
 *
 * const xmpp = client({
 *   service: "xmpp://chat.example.com:5222",
 *   domain: "example.com",
 *   username: "alice",
 *   password: process.env.XMPP_PASSWORD,
 * });
 * const saslkit = useSaslkit(xmpp); // before start()
 * await xmpp.start(); // rejects with a SaslError when the server cannot prove itself
 * console.log(saslkit.outcome?.mechanism); // "SCRAM-SHA-256-PLUS"
 * await xmpp.stop();
 * ```
 *
 * @example The mechanisms it would register, without a server
 * ```ts
 * import { useSaslkit } from "@saslkit/adapters/xmpp";
 * import assert from "node:assert/strict";
 * import { EventEmitter } from "node:events";
 *
 * const fake = Object.assign(new EventEmitter(), {
 *   saslFactory: { _mechs: [] as { name: string; mech: unknown }[] },
 *   options: { domain: "example.com" },
 *   isSecure: () => false,
 * });
 * const saslkit = useSaslkit(fake, { mechanisms: ["SCRAM-SHA-256", "PLAIN"] });
 * assert.deepEqual(saslkit.names, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"]);
 * // Without TLS only SCRAM-SHA-256 is offered to xmpp.js; -PLUS and PLAIN stay hidden.
 * assert.deepEqual(saslkit.usable(), ["SCRAM-SHA-256"]);
 * saslkit.detach();
 * ```
 *
 * @module
 */

import {
  type ChannelBindingMode,
  type ChannelBindings,
  type ClientMechanism,
  decodeBase64,
  type MechanismDescriptor,
  MechanismRegistry,
  plainMechanism,
  SaslError,
  type SaslErrorCode,
  type SaslOutcome,
  type ScramMechanismOptions,
} from "@saslkit/sasl";
import { scramMechanisms } from "@saslkit/sasl/scram";

const SASL1_NS = "urn:ietf:params:xml:ns:xmpp-sasl";
const SASL2_NS = "urn:xmpp:sasl:2";
const STREAMS_NS = "http://etherx.jabber.org/streams";
const PLUS = "-PLUS";
// A name no server can offer (it is not a SASL name): how an entry hides from xmpp.js.
const HIDDEN = " saslkit: not usable on this connection";

/** The part of an ltx element (xmpp.js's XML) that the adapter reads. */
export interface XmppElement {
  /** The element name. */
  name: string;
  /** The child nodes. */
  children: unknown[];
  /** Whether the element has this name (and namespace). */
  is(name: string, xmlns?: string): boolean;
  /** Its namespace. */
  getNS(): string | undefined;
  /** The first child of that name. */
  getChild(name: string, xmlns?: string): XmppElement | undefined;
  /** Every child of that name. */
  getChildren(name: string, xmlns?: string): XmppElement[];
  /** The child elements. */
  getChildElements(): XmppElement[];
  /** The text directly inside. */
  text(): string;
}

/** What the adapter needs of an xmpp.js client (`client()` of `@xmpp/client`). */
export interface XmppClientLike {
  /** The `saslmechanisms` factory xmpp.js picks mechanisms from. */
  readonly saslFactory: unknown;
  /** The client's options; `domain` is the server's XMPP domain. */
  readonly options?: { readonly domain?: string };
  /** The transport socket (xmpp.js's TLS wrapper keeps the `TLSSocket` in `.socket`). */
  readonly socket?: unknown;
  /** Whether the connection is encrypted. */
  isSecure(): boolean;
  /** Subscribes to an event (`nonza`). */
  on(event: string, listener: (element: XmppElement) => void): unknown;
  /** Subscribes ahead of every other listener, where the emitter can. */
  prependListener?(event: string, listener: (element: XmppElement) => void): unknown;
  /** Unsubscribes. */
  removeListener(event: string, listener: (element: XmppElement) => void): unknown;
}

/** Options of {@linkcode useSaslkit}. */
export interface XmppSaslkitOptions {
  /**
   * The mechanisms, most preferred first; each `-PLUS` variant the registry has goes just
   * before its base (unless you list it). Default: every password mechanism of `registry`
   * that speaks first, in its order.
   */
  readonly mechanisms?: readonly string[];
  /** Where the mechanisms come from. Default: SCRAM (SHA-512, SHA-256, SHA-1, each -PLUS first), then PLAIN. */
  readonly registry?: MechanismRegistry;
  /** `prefer` (default) binds where the connection allows; `require` never runs SCRAM without it; `disable`. */
  readonly channelBinding?: ChannelBindingMode;
  /** SCRAM settings (iteration bounds, a key cache, the binding type). */
  readonly scram?: Omit<ScramMechanismOptions, "channelBinding">;
  /** The identity to act as (`a=` of SCRAM, PLAIN's authzid); default the user's own. */
  readonly authorizationId?: string;
}

/** The handle {@linkcode useSaslkit} returns. */
export interface XmppSaslkit {
  /** The mechanisms registered with xmpp.js, in priority order. */
  readonly names: readonly string[];
  /** Which of them xmpp.js may use on the connection as it is now (TLS, binding data). */
  usable(): string[];
  /** What the last verified exchange established; `undefined` before one succeeds. */
  readonly outcome: SaslOutcome | undefined;
  /** Removes saslkit's mechanisms and `nonza` listener, and gives xmpp.js its own back. */
  detach(): void;
}

interface FactoryEntry {
  readonly name: string;
  readonly mech: unknown;
}

/** xmpp.js's mechanism instance shape (saslmechanisms). */
interface XmppMechanism {
  readonly name: string;
  readonly clientFirst: boolean;
  response(credentials: XmppCredentials): Promise<string>;
  challenge(text: string): Promise<void>;
  final(text: string): void;
}

interface XmppCredentials {
  readonly username?: string | null;
  readonly password?: string | null;
  readonly authzid?: string | null;
  readonly host?: string;
}

interface TlsSocketLike {
  getProtocol(): string | null;
  getFinished(): Uint8Array | undefined;
  getPeerFinished?(): Uint8Array | undefined;
  isSessionReused?(): boolean;
  exportKeyingMaterial?(length: number, label: string, context?: Uint8Array): Uint8Array;
}

const DEFAULT_REGISTRY = new MechanismRegistry([...scramMechanisms, plainMechanism]);

/**
 * Registers saslkit's mechanisms with an xmpp.js client and verifies every success they end
 * in. Call it before `client.start()`.
 *
 * @param client The client `client()` of `@xmpp/client` returned.
 * @param options Which mechanisms, channel binding, SCRAM settings.
 * @returns A handle with the registered names, the last outcome and `detach()`.
 * @throws {SaslError} `invalid-argument` when the client has no `saslmechanisms` factory of
 * the known shape, or a requested mechanism is unknown, does not take a password or does not
 * speak first (xmpp.js's SASL1 path sends no `<auth>` for those).
 *
 * @example
 * ```ts
 * import { useSaslkit } from "@saslkit/adapters/xmpp";
 * import assert from "node:assert/strict";
 * import { EventEmitter } from "node:events";
 *
 * const xmppPlain = { name: "PLAIN" };
 * const fake = Object.assign(new EventEmitter(), {
 *   saslFactory: { _mechs: [{ name: "PLAIN", mech: xmppPlain }] },
 *   options: { domain: "example.com" },
 *   isSecure: () => true,
 * });
 * const saslkit = useSaslkit(fake, { mechanisms: ["PLAIN"] });
 * // xmpp.js's own PLAIN is replaced; the factory now builds saslkit's.
 * assert.equal(fake.saslFactory._mechs.length, 1);
 * assert.notEqual(fake.saslFactory._mechs[0].mech, xmppPlain);
 * assert.deepEqual(saslkit.usable(), ["PLAIN"]);
 * ```
 */
export function useSaslkit(client: XmppClientLike, options: XmppSaslkitOptions = {}): XmppSaslkit {
  const factory = client?.saslFactory as { _mechs?: unknown } | undefined;
  const entries = factory?._mechs;
  if (!Array.isArray(entries)) {
    throw new SaslError(
      "invalid-argument",
      "useSaslkit needs an @xmpp/client client (its saslFactory has no mechanism list)",
    );
  }
  const registry = options.registry ?? DEFAULT_REGISTRY;
  const mode = options.channelBinding ?? "prefer";
  const descriptors = chosenDescriptors(registry, options.mechanisms);
  const names = descriptors.map((d) => d.name);

  const state: {
    offered?: readonly string[];
    active?: SaslkitMechanism;
    outcome?: SaslOutcome;
  } = {};

  const bindings = (): ChannelBindings => channelBindingsOf(client);
  const usableNow = (name: string): boolean => {
    const { order } = registry.negotiate({
      offered: [name],
      preferred: [name],
      credentials: { username: "u", password: "p", authorizationId: options.authorizationId },
      secure: client.isSecure(),
      channelBindingTypes: Object.keys(bindings()) as (keyof ChannelBindings)[],
      channelBinding: mode,
    });
    return order.length === 1;
  };

  abstract class SaslkitMechanism implements XmppMechanism {
    abstract readonly descriptor: MechanismDescriptor;
    #client: ClientMechanism | undefined;
    #pending: Uint8Array | undefined;
    #error: SaslError | undefined;
    #settled = false;

    get name(): string {
      return this.descriptor.name;
    }

    get clientFirst(): boolean {
      return this.descriptor.properties.clientFirst;
    }

    async response(credentials: XmppCredentials): Promise<string> {
      if (this.#error !== undefined) throw this.#error;
      if (this.#client === undefined) {
        const secure = client.isSecure();
        const mechanism = await this.descriptor.createClient({
          username: credentials?.username ?? "",
          password: credentials?.password ?? "",
          authorizationId: options.authorizationId ?? credentials?.authzid ?? undefined,
        }, {
          service: "xmpp",
          host: client.options?.domain ?? credentials?.host ?? "",
          secure,
          channelBindings: mode === "disable" ? undefined : bindings(),
          offered: state.offered,
          options: { scram: { ...options.scram, channelBinding: mode } },
        });
        this.#client = mechanism;
        state.active = this;
        return byteString(mechanism.start() ?? new Uint8Array(0));
      }
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending === undefined) {
        throw new SaslError("invalid-state", `${this.name}: no challenge to answer`);
      }
      return byteString(pending);
    }

    async challenge(text: string): Promise<void> {
      if (this.#error !== undefined) throw this.#error;
      if (this.#client === undefined) {
        throw new SaslError("invalid-state", `${this.name}: a challenge before the exchange began`);
      }
      try {
        this.#pending = await this.#client.next(bytesOf(text));
      } catch (error) {
        this.#error = asSaslError(error);
        if (state.active === this) state.active = undefined;
        throw this.#error;
      }
    }

    final(text: string): void {
      // SASL2 calls this with <additional-data>; the nonza hook has verified it already.
      if (this.#settled) return;
      this.settle(bytesOf(text));
      if (this.#error !== undefined) throw this.#error;
    }

    /** Checks the end of the exchange; returns false (and keeps the error) when it fails. */
    settle(data: Uint8Array | undefined): boolean {
      this.#settled = true;
      if (state.active === this) state.active = undefined;
      try {
        if (this.#client === undefined) {
          throw new SaslError("server-not-verified", "success before the exchange began");
        }
        state.outcome = this.#client.finish(data);
        return true;
      } catch (error) {
        this.#error = asSaslError(error);
        return false;
      }
    }

    fail(error: SaslError): void {
      this.#settled = true;
      if (state.active === this) state.active = undefined;
      this.#error = this.#client?.serverError ?? error;
    }
  }

  const ours: FactoryEntry[] = descriptors.map((descriptor) => {
    const Mechanism = class extends SaslkitMechanism {
      readonly descriptor = descriptor;
    };
    Object.defineProperty(Mechanism.prototype, "name", { value: descriptor.name });
    return {
      get name() {
        return usableNow(descriptor.name) ? descriptor.name : HIDDEN;
      },
      mech: Mechanism,
    };
  });

  const onNonza = (element: XmppElement): void => {
    if (element.is("features", STREAMS_NS)) {
      const list = element.getChild("mechanisms", SASL1_NS) ??
        element.getChild("authentication", SASL2_NS);
      if (list) state.offered = list.getChildren("mechanism").map((m) => m.text().trim());
      return;
    }
    const ns = element.getNS();
    const active = state.active;
    if (active === undefined || (ns !== SASL1_NS && ns !== SASL2_NS)) return;
    if (element.name === "success") {
      const text = ns === SASL1_NS ? element.text() : element.getChild("additional-data")?.text();
      let data: Uint8Array | undefined;
      try {
        data = successData(text);
      } catch (error) {
        active.fail(asSaslError(error));
        toChallenge(element);
        return;
      }
      if (!active.settle(data)) toChallenge(element);
    } else if (element.name === "failure") {
      active.fail(failureError(element));
      toChallenge(element);
    }
  };

  // Ours first, in priority order; xmpp.js's entries of the same names go.
  const replaced = new Set(names);
  const removed = (entries as FactoryEntry[]).filter((entry) => replaced.has(entry?.name));
  const kept = (entries as FactoryEntry[]).filter((entry) => !replaced.has(entry?.name));
  entries.splice(0, entries.length, ...ours, ...kept);
  if (typeof client.prependListener === "function") client.prependListener("nonza", onNonza);
  else client.on("nonza", onNonza);

  return {
    names,
    usable: () => names.filter(usableNow),
    get outcome() {
      return state.outcome;
    },
    detach() {
      client.removeListener("nonza", onNonza);
      const list = entries as FactoryEntry[];
      for (let i = list.length - 1; i >= 0; i--) if (ours.includes(list[i])) list.splice(i, 1);
      list.unshift(...removed.filter((entry) => !list.includes(entry)));
    },
  };
}

function chosenDescriptors(
  registry: MechanismRegistry,
  mechanisms: readonly string[] | undefined,
): MechanismDescriptor[] {
  if (mechanisms !== undefined && !Array.isArray(mechanisms)) {
    throw new SaslError("invalid-argument", "mechanisms must be an array of names");
  }
  const wanted = mechanisms?.map((name) => {
    if (typeof name !== "string" || registry.get(name) === undefined) {
      throw new SaslError("invalid-argument", `unknown mechanism ${String(name).slice(0, 40)}`);
    }
    return name.toUpperCase();
  });
  const base = wanted ?? registry.names.filter((name) => suitable(registry.get(name)!));
  const names: string[] = [];
  for (const name of base) {
    const plus = name + PLUS;
    if (
      !name.endsWith(PLUS) && !base.includes(plus) && registry.get(plus) !== undefined &&
      !names.includes(plus)
    ) {
      names.push(plus);
    }
    if (!names.includes(name)) names.push(name);
  }
  return names.map((name) => {
    const descriptor = registry.get(name)!;
    if (!suitable(descriptor)) {
      throw new SaslError(
        "invalid-argument",
        `${name} cannot run inside xmpp.js: it must take a password and speak first`,
      );
    }
    return descriptor;
  });
}

function suitable(descriptor: MechanismDescriptor): boolean {
  return descriptor.credentialKind === "password" && descriptor.properties.clientFirst;
}

/**
 * The channel-binding data of the client's TLS connection: `tls-unique` (the client's
 * Finished message of a full handshake, the server's of a resumed one) below TLS 1.3,
 * `tls-exporter` on TLS 1.3; `{}` without TLS or where the runtime cannot tell.
 *
 * @param client The xmpp.js client.
 * @returns The data by type.
 *
 * @example No TLS, no binding
 * ```ts
 * import { channelBindingsOf } from "@saslkit/adapters/xmpp";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(channelBindingsOf({ socket: undefined }), {});
 * ```
 */
export function channelBindingsOf(client: { readonly socket?: unknown }): ChannelBindings {
  const socket = tlsSocketOf(client?.socket);
  if (socket === undefined) return {};
  try {
    const protocol = socket.getProtocol();
    if (protocol === "TLSv1.3") {
      if (typeof socket.exportKeyingMaterial !== "function") return {};
      const data = socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", new Uint8Array(0));
      return data?.length === 32 ? { "tls-exporter": new Uint8Array(data) } : {};
    }
    if (protocol !== "TLSv1.2" && protocol !== "TLSv1.1" && protocol !== "TLSv1") return {};
    const finished = socket.isSessionReused?.() ? socket.getPeerFinished?.() : socket.getFinished();
    // A TLS 1.0–1.2 Finished message carries 12 octets of verify_data (RFC 5246 §7.4.9);
    // anything else is not the message (Deno 2.9's getFinished answers 32 other octets).
    return finished?.length === 12 ? { "tls-unique": new Uint8Array(finished) } : {};
  } catch {
    return {};
  }
}

function tlsSocketOf(socket: unknown): TlsSocketLike | undefined {
  for (let candidate = socket, depth = 0; depth < 3; depth++) {
    if (candidate === null || typeof candidate !== "object") return undefined;
    const s = candidate as Partial<TlsSocketLike> & { socket?: unknown };
    if (typeof s.getFinished === "function" && typeof s.getProtocol === "function") {
      return s as TlsSocketLike;
    }
    candidate = s.socket;
  }
  return undefined;
}

function successData(text: string | undefined): Uint8Array | undefined {
  const trimmed = text?.trim() ?? "";
  if (trimmed === "" || trimmed === "=") return undefined;
  return decodeBase64(trimmed);
}

// Makes xmpp.js's own listener hand the element to the mechanism, which then throws.
function toChallenge(element: XmppElement): void {
  element.name = "challenge";
  element.children = [];
}

const FAILURE_CODES: Readonly<Record<string, SaslErrorCode>> = {
  "not-authorized": "authentication-failed",
  "account-disabled": "authentication-failed",
  "credentials-expired": "authentication-failed",
  "invalid-authzid": "authorization-failed",
};

function failureError(element: XmppElement): SaslError {
  const condition = element.getChildElements().find((child) => child.name !== "text")?.name ??
    "undefined-condition";
  const shown = /^[a-z-]{1,40}$/.test(condition) ? condition : "undefined-condition";
  return new SaslError(
    FAILURE_CODES[shown] ?? "server-rejected",
    `the XMPP server refused the authentication: ${shown}`,
  );
}

function asSaslError(error: unknown): SaslError {
  return error instanceof SaslError
    ? error
    : new SaslError("malformed-challenge", "the server's data could not be read", {
      cause: error,
    });
}

function byteString(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x2000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  }
  return out;
}

function bytesOf(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new SaslError("malformed-challenge", "a challenge character is not one octet");
    }
    out[i] = code;
  }
  return out;
}
