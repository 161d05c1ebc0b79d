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

// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f]/g;

/**
 * Text with C0 control characters and DEL written as `\xNN`, so that what a peer sent can be
 * shown in a transcript, a log or an error without forging lines or moving a terminal's cursor.
 */
export function escapeControls(text: string): string {
  // One native pass; text without controls comes back as it is.
  return text.replace(
    CONTROLS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
