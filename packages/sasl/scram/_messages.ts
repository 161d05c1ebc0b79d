// SCRAM message grammar (RFC 5802 §7): strict parsing of the four messages and the pieces both
// sides build. Internal: not exported from mod.ts.

import { decodeUtf8 } from "../_bytes.ts";
import { decodeBase64 } from "../base64.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";

/** The channel-binding types SCRAM-PLUS can use (RFC 5929, RFC 9266). */
import type { ChannelBindingType } from "../mechanism.ts";
export type { ChannelBindingType };

/** Every channel-binding type, in the order a client prefers them. */
export const CHANNEL_BINDING_TYPES: readonly ChannelBindingType[] = /* @__PURE__ */ Object.freeze([
  "tls-exporter",
  "tls-unique",
  "tls-server-end-point",
]);

/**
 * Longest SCRAM message either side accepts, in octets. Real messages are under 300 octets
 * (a -PLUS client-final with a SHA-512 end-point hash is about 250); the cap only bounds what
 * a hostile peer can make the other side parse.
 */
export const MAX_MESSAGE_OCTETS = 4096;

type ParseCode = "malformed-challenge" | "malformed-response";

/** One `name=value` attribute. */
export interface Attribute {
  readonly name: string;
  readonly value: string;
}

/** Builds the error for a message that breaks the grammar. */
export function malformed(code: ParseCode, message: string, cause?: unknown): SaslError {
  return new SaslError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Checks length and UTF-8 and splits a message into attributes. Every attribute must be one
 * ASCII letter, `=`, and a non-empty value without NUL; no name may appear twice.
 */
export function parseAttributes(bytes: Uint8Array, code: ParseCode, what: string): Attribute[] {
  if (bytes.length > MAX_MESSAGE_OCTETS) {
    throw new SaslError("message-too-long", `SCRAM ${what} exceeds ${MAX_MESSAGE_OCTETS} octets`);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw malformed(code, `SCRAM ${what} is not valid UTF-8`);
  return splitAttributes(text, code, what);
}

/** Splits text (already length- and UTF-8-checked) into attributes; see parseAttributes. */
export function splitAttributes(text: string, code: ParseCode, what: string): Attribute[] {
  if (text === "") throw malformed(code, `SCRAM ${what} is empty`);
  if (text.includes("\0")) throw malformed(code, `SCRAM ${what} contains NUL`);
  const seen = new Set<string>();
  const attributes: Attribute[] = [];
  for (const part of text.split(",")) {
    if (part.length < 3 || part[1] !== "=" || !isAlpha(part.charCodeAt(0))) {
      throw malformed(code, `SCRAM ${what} has an attribute that is not of the form x=value`);
    }
    const name = part[0];
    if (seen.has(name)) throw malformed(code, `SCRAM ${what} repeats the attribute ${name}=`);
    seen.add(name);
    attributes.push({ name, value: part.slice(2) });
  }
  return attributes;
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/**
 * Takes the attribute at `index`, which must be `name`. A missing one, or another in its
 * place, is an error naming the attribute expected.
 */
export function expect(
  attributes: readonly Attribute[],
  index: number,
  name: string,
  code: ParseCode,
  what: string,
): string {
  const attribute = attributes[index];
  if (attribute === undefined) throw malformed(code, `SCRAM ${what} lacks ${name}=`);
  if (attribute.name !== name) {
    throw malformed(code, `SCRAM ${what} has ${attribute.name}= where ${name}= belongs`);
  }
  return attribute.value;
}

/**
 * Checks the optional extensions after the mandatory attributes: each must be an attribute
 * the message does not define already (splitAttributes has refused repeats) and not `m=`.
 * Their values are ignored, as RFC 5802 §5.1 asks of unknown extensions.
 */
export function checkExtensions(
  attributes: readonly Attribute[],
  from: number,
  reserved: string,
  code: ParseCode,
  what: string,
): void {
  for (let i = from; i < attributes.length; i++) {
    const { name } = attributes[i];
    if (name === "m" || reserved.includes(name)) {
      throw malformed(code, `SCRAM ${what} has ${name}= out of place`);
    }
  }
}

/** `printable` of RFC 5802: %x21-2B / %x2D-7E (no comma). */
export function isPrintable(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2c) return false;
  }
  return true;
}

/** Strict base64 inside a SCRAM attribute; a failure is a grammar error of the message. */
export function base64Attribute(
  value: string,
  name: string,
  code: ParseCode,
  what: string,
): Uint8Array {
  try {
    return decodeBase64(value);
  } catch (error) {
    throw malformed(code, `SCRAM ${what} has invalid base64 in ${name}=`, error);
  }
}

/** `saslname` escaping: `=` becomes `=3D` and `,` becomes `=2C` (RFC 5802 §5.1). */
export function escapeSaslname(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/**
 * Undoes saslname escaping, or returns `undefined` when an `=` is not followed by `2C` or
 * `3D` (case-sensitive, as the ABNF has it).
 */
export function unescapeSaslname(value: string): string | undefined {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== "=") {
      out += c;
      continue;
    }
    const code = value.slice(i + 1, i + 3);
    if (code === "2C") out += ",";
    else if (code === "3D") out += "=";
    else return undefined;
    i += 2;
  }
  return out;
}

/**
 * `posit-number`: a decimal without leading zeros, above zero. Returns `undefined` when the
 * text is not one; a number too large to represent exactly comes back as `Infinity`, so that
 * a range check refuses it.
 */
export function parsePositNumber(text: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(text)) return undefined;
  if (text.length > 15) return Infinity;
  return Number(text);
}

/** `cb-name`: 1*(ALPHA / DIGIT / "." / "-"). */
export function isCbName(text: string): boolean {
  return /^[A-Za-z0-9.-]+$/.test(text);
}

/**
 * The server-error values of RFC 5802 §7, and the error each maps to on the client. Values
 * the RFC does not list (`server-error-value-ext`) map to `server-rejected`.
 */
export const SERVER_ERRORS: Readonly<Record<string, SaslErrorCode>> = /* @__PURE__ */ Object.freeze(
  {
    "invalid-encoding": "server-rejected",
    "extensions-not-supported": "server-rejected",
    "invalid-proof": "authentication-failed",
    "channel-bindings-dont-match": "channel-binding-mismatch",
    "server-does-support-channel-binding": "channel-binding-downgrade",
    "channel-binding-not-supported": "channel-binding-mismatch",
    "unsupported-channel-binding-type": "channel-binding-mismatch",
    "unknown-user": "authentication-failed",
    "invalid-username-encoding": "server-rejected",
    "no-resources": "server-rejected",
    "other-error": "server-rejected",
  },
);

/** Shows a peer's text in an error message: printable ASCII kept, the rest escaped, capped. */
export function showPeerText(text: string, max = 64): string {
  let out = "";
  for (const char of text.slice(0, max)) {
    const c = char.codePointAt(0)!;
    out += c >= 0x20 && c <= 0x7e ? char : `\\u{${c.toString(16)}}`;
  }
  return text.length > max ? `${out}…` : out;
}
