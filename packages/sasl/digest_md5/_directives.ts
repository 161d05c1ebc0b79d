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
 * What one pass over a directive list keeps for the names a message kind knows (see
 * {@linkcode scanDirectives}): for each name, the value of its first occurrence and how often it
 * appeared; every value of one name when asked (a challenge's realms). Other names are checked
 * for grammar only.
 */
export interface DirectiveSlots {
  /** The value of the first occurrence of each known name, by its index; `undefined` if absent. */
  readonly values: (string | undefined)[];
  /** How many times each known name appeared, by its index. */
  readonly counts: number[];
  /** Every value of the name `collect` pointed at, in order. */
  readonly all: string[];
  /** Whether every quoted value was ASCII (then no value needs re-reading as UTF-8). */
  ascii: boolean;
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
  const out: Directive[] = [];
  scan(text, errorCode, undefined, undefined, -1, out);
  return out;
}

/**
 * Parses a directive list in the same one pass and with the same grammar checks as
 * {@linkcode parseDirectives}, keeping only what the caller's `names` (lower case) need: no
 * object per directive, no lower-cased copy of each name (names are matched in place, ignoring
 * ASCII case), no value string for an unknown name. `collect` is the index of a name whose
 * every value is kept in `all`.
 *
 * @throws {SaslError} with `errorCode` on any grammar violation.
 */
export function scanDirectives(
  text: string,
  errorCode: SaslErrorCode,
  names: readonly string[],
  collect = -1,
): DirectiveSlots {
  const values: (string | undefined)[] = [];
  const counts: number[] = [];
  for (let s = 0; s < names.length; s++) {
    values.push(undefined);
    counts.push(0);
  }
  const slots: DirectiveSlots = { values, counts, all: [], ascii: true };
  scan(text, errorCode, names, slots, collect, undefined);
  return slots;
}

// The index of the known name text[start, end) is, ignoring ASCII case, or -1. Names are
// tokens (ASCII letters, digits, "-"), and `code | 0x20` maps exactly A-Z onto a-z among token
// characters, so the comparison is the one toLowerCase() would give.
function slotOf(names: readonly string[], text: string, start: number, end: number): number {
  const length = end - start;
  search: for (let s = 0; s < names.length; s++) {
    const name = names[s];
    if (name.length !== length) continue;
    for (let k = 0; k < length; k++) {
      if ((text.charCodeAt(start + k) | 0x20) !== name.charCodeAt(k)) continue search;
    }
    return s;
  }
  return -1;
}

// The name is made into a string only for a message (or for `list`): `why` says where.
function malformed(
  errorCode: SaslErrorCode,
  text: string,
  nameStart: number,
  nameEnd: number,
  why: string,
): never {
  const name = text.slice(nameStart, nameEnd).toLowerCase();
  throw new SaslError(errorCode, `DIGEST-MD5: ${why.replace("{name}", () => name)}`);
}

// The one grammar loop: into `list` (every directive) or into `slots` (known names only).
function scan(
  text: string,
  errorCode: SaslErrorCode,
  names: readonly string[] | undefined,
  slots: DirectiveSlots | undefined,
  collect: number,
  list: Directive[] | undefined,
): void {
  const length = text.length;
  let i = 0;
  let nameStart = 0;
  let nameEnd = 0;
  // The OR of every character of quoted values (escaped ones are ASCII or read below).
  let high = 0;
  while (i < length) {
    while (i < length && isLwsCode(text.charCodeAt(i))) i++;
    if (i >= length) break;
    if (text.charCodeAt(i) === 0x2c) { // empty list element
      i++;
      continue;
    }
    nameStart = i;
    while (i < length && isTokenCode(text.charCodeAt(i))) i++;
    nameEnd = i;
    if (i === nameStart) {
      throw new SaslError(errorCode, `DIGEST-MD5: expected a directive name at offset ${i}`);
    }
    const slot = names === undefined ? -1 : slotOf(names, text, nameStart, nameEnd);
    const wanted = slot >= 0 || list !== undefined;
    while (i < length && isLwsCode(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x3d) {
      malformed(errorCode, text, nameStart, nameEnd, 'directive "{name}" has no "="');
    }
    i++;
    while (i < length && isLwsCode(text.charCodeAt(i))) i++;
    let value = "";
    let quoted = false;
    if (text.charCodeAt(i) === 0x22) {
      quoted = true;
      i++;
      let closed = false;
      // The value is the runs between escapes, each taken as one slice.
      let parts: string[] | undefined;
      let runStart = i;
      while (i < length) {
        const code = text.charCodeAt(i);
        if (code === 0x22) {
          closed = true;
          break;
        }
        if (code === 0x5c) {
          if (i + 1 >= length) break;
          high |= text.charCodeAt(i + 1);
          if (wanted) (parts ??= []).push(text.slice(runStart, i), text[i + 1]);
          i += 2;
          runStart = i;
          continue;
        }
        high |= code;
        // qdtext excludes CTLs other than LWS.
        if ((code < 32 && !isLwsCode(code)) || code === 127) {
          malformed(
            errorCode,
            text,
            nameStart,
            nameEnd,
            'control character in the value of "{name}"',
          );
        }
        i++;
      }
      if (!closed) {
        malformed(errorCode, text, nameStart, nameEnd, 'unterminated quoted string in "{name}"');
      }
      if (wanted) {
        value = parts === undefined
          ? text.slice(runStart, i)
          : (parts.push(text.slice(runStart, i)), parts.join(""));
      }
      i++; // the closing quote
    } else {
      const valueStart = i;
      while (i < length && isTokenCode(text.charCodeAt(i))) i++;
      if (i === valueStart) {
        malformed(
          errorCode,
          text,
          nameStart,
          nameEnd,
          'directive "{name}" has an empty or invalid value',
        );
      }
      if (wanted) value = text.slice(valueStart, i);
    }
    if (list !== undefined) {
      list.push({ name: text.slice(nameStart, nameEnd).toLowerCase(), value, quoted });
    } else if (slot >= 0) {
      if (slots!.counts[slot]++ === 0) slots!.values[slot] = value;
      if (slot === collect) slots!.all.push(value);
    }
    while (i < length && isLwsCode(text.charCodeAt(i))) i++;
    if (i < length) {
      if (text.charCodeAt(i) !== 0x2c) {
        malformed(errorCode, text, nameStart, nameEnd, 'expected "," after directive "{name}"');
      }
      i++;
    }
  }
  if (slots !== undefined) slots.ascii = high < 0x80;
}

/** Splits a quoted `#rule` list such as `auth,auth-int` into its non-empty, trimmed elements. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end < 0) end = value.length;
    const part = value.slice(start, end).trim();
    if (part.length > 0) out.push(part);
    start = end + 1;
  }
  return out;
}

/** Quotes a value for a quoted-string, escaping `"` and `\`. */
export function quote(value: string): string {
  // Most values need no escape: skip the regular expression for them.
  if (value.indexOf('"') < 0 && value.indexOf("\\") < 0) return `"${value}"`;
  return `"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}
