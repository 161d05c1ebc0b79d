// Byte helpers of @saslkit/smtp. Internal: not exported from mod.ts.

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Text with C0 control characters and DEL written as `\xNN`, so that what a peer sent can be
 * shown in a transcript, a log or an error without forging lines or moving a terminal's cursor.
 */
export function escapeControls(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  }
  return out;
}
