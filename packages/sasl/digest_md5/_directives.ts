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

// RFC 2616 token characters: any CHAR except CTLs and separators.
const SEPARATORS = '()<>@,;:\\"/[]?={} \t';

function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 32 && code < 127 && !SEPARATORS.includes(c);
}

function isLws(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\n";
}

/**
 * Parses a directive list. `errorCode` names the side whose message is malformed.
 *
 * @throws {SaslError} with `errorCode` on any grammar violation.
 */
export function parseDirectives(text: string, errorCode: SaslErrorCode): Directive[] {
  const fail = (why: string): never => {
    throw new SaslError(errorCode, `DIGEST-MD5: ${why}`);
  };
  const out: Directive[] = [];
  let i = 0;
  const skipLws = () => {
    while (i < text.length && isLws(text[i])) i++;
  };
  while (i < text.length) {
    skipLws();
    if (i >= text.length) break;
    if (text[i] === ",") { // empty list element
      i++;
      continue;
    }
    const nameStart = i;
    while (i < text.length && isTokenChar(text[i])) i++;
    if (i === nameStart) fail(`expected a directive name at offset ${i}`);
    const name = text.slice(nameStart, i).toLowerCase();
    skipLws();
    if (text[i] !== "=") fail(`directive "${name}" has no "="`);
    i++;
    skipLws();
    let value = "";
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i];
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\") {
          if (i + 1 >= text.length) break;
          value += text[i + 1];
          i += 2;
          continue;
        }
        const code = c.charCodeAt(0);
        // qdtext excludes CTLs other than LWS.
        if ((code < 32 && !isLws(c)) || code === 127) {
          fail(`control character in the value of "${name}"`);
        }
        value += c;
        i++;
      }
      if (!closed) fail(`unterminated quoted string in "${name}"`);
    } else {
      const valueStart = i;
      while (i < text.length && isTokenChar(text[i])) i++;
      if (i === valueStart) fail(`directive "${name}" has an empty or invalid value`);
      value = text.slice(valueStart, i);
    }
    out.push({ name, value, quoted });
    skipLws();
    if (i < text.length) {
      if (text[i] !== ",") fail(`expected "," after directive "${name}"`);
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
  return `"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}
