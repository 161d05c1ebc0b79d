// The directive-list grammar shared by DIGEST-MD5 challenges and responses (RFC 2831 §7.1,
// borrowing RFC 2616's #rule): `name=value` pairs separated by commas, where a value is a token
// or a quoted-string with backslash escapes, empty list elements are allowed, and linear white
// space may surround each element. Parsing works on ISO-8859-1 text (one char per byte) so that
// it never fails on encoding; the mechanism re-decodes quoted values as UTF-8 when
// `charset=utf-8` says so.

import { SaslError, type SaslErrorCode } from "../error.ts";

/** One `name=value` pair; `name` is lower-cased, `value` is unquoted and unescaped. */
export interface Directive {
  readonly name: string;
  readonly value: string;
  readonly quoted: boolean;
}

// RFC 2616 token characters: any CHAR except CTLs and separators, as a table by char code.
const TOKEN = new Uint8Array(128);
for (let code = 33; code < 127; code++) TOKEN[code] = 1;
for (const c of '()<>@,;:\\"/[]?={} \t') TOKEN[c.charCodeAt(0)] = 0;

function isTokenCode(code: number): boolean {
  return code < 128 && TOKEN[code] === 1;
}

function isLwsCode(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

/**
 * Parses a directive list. `errorCode` names the side whose message is malformed.
 *
 * One pass over the text: values are cut out as slices between escapes, never built a
 * character at a time, so the cost is linear in the length even for hostile input. Callers
 * still cap the length first (RFC 2831's 2048 and 4096 bytes).
 *
 * @throws {SaslError} with `errorCode` on any grammar violation.
 */
export function parseDirectives(text: string, errorCode: SaslErrorCode): Directive[] {
  const fail = (why: string): never => {
    throw new SaslError(errorCode, `DIGEST-MD5: ${why}`);
  };
  const out: Directive[] = [];
  const length = text.length;
  let i = 0;
  const skipLws = () => {
    while (i < length && isLwsCode(text.charCodeAt(i))) i++;
  };
  while (i < length) {
    skipLws();
    if (i >= length) break;
    if (text.charCodeAt(i) === 0x2c) { // empty list element
      i++;
      continue;
    }
    const nameStart = i;
    while (i < length && isTokenCode(text.charCodeAt(i))) i++;
    if (i === nameStart) fail(`expected a directive name at offset ${i}`);
    const name = text.slice(nameStart, i).toLowerCase();
    skipLws();
    if (text.charCodeAt(i) !== 0x3d) fail(`directive "${name}" has no "="`);
    i++;
    skipLws();
    let value: string;
    let quoted = false;
    if (text.charCodeAt(i) === 0x22) {
      quoted = true;
      i++;
      let closed = false;
      // The value is the runs between escapes, each taken as one slice.
      const parts: string[] = [];
      let runStart = i;
      while (i < length) {
        const code = text.charCodeAt(i);
        if (code === 0x22) {
          closed = true;
          break;
        }
        if (code === 0x5c) {
          if (i + 1 >= length) break;
          parts.push(text.slice(runStart, i), text[i + 1]);
          i += 2;
          runStart = i;
          continue;
        }
        // qdtext excludes CTLs other than LWS.
        if ((code < 32 && !isLwsCode(code)) || code === 127) {
          fail(`control character in the value of "${name}"`);
        }
        i++;
      }
      if (!closed) fail(`unterminated quoted string in "${name}"`);
      parts.push(text.slice(runStart, i));
      i++; // the closing quote
      value = parts.length === 1 ? parts[0] : parts.join("");
    } else {
      const valueStart = i;
      while (i < length && isTokenCode(text.charCodeAt(i))) i++;
      if (i === valueStart) fail(`directive "${name}" has an empty or invalid value`);
      value = text.slice(valueStart, i);
    }
    out.push({ name, value, quoted });
    skipLws();
    if (i < length) {
      if (text.charCodeAt(i) !== 0x2c) fail(`expected "," after directive "${name}"`);
      i++;
    }
  }
  return out;
}

/** Splits a quoted `#rule` list such as `auth,auth-int` into its non-empty, trimmed elements. */
export function splitList(value: string): string[] {
  return value.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
}

/** Quotes a value for a quoted-string, escaping `"` and `\`. */
export function quote(value: string): string {
  // Most values need no escape: skip the regular expression for them.
  if (value.indexOf('"') < 0 && value.indexOf("\\") < 0) return `"${value}"`;
  return `"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}
