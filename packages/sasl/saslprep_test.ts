// SASLprep (RFC 4013) through saslkit's wrapper: the examples of RFC 4013 §3, and failures as
// typed errors that never quote the input.
import assert from "node:assert/strict";
import { SaslError } from "./error.ts";
import { saslprep } from "./saslprep.ts";

Deno.test("SASLprep: the examples of RFC 4013 §3", () => {
  assert.equal(saslprep("I\u00ADX"), "IX"); // 1. SOFT HYPHEN mapped to nothing
  assert.equal(saslprep("user"), "user"); // 2. no transformation
  assert.equal(saslprep("USER"), "USER"); // 3. case preserved
  assert.equal(saslprep("\u00AA"), "a"); // 4. output is NFKC
  assert.equal(saslprep("\u2168"), "IX"); // 5. output is NFKC
  for (const [input, rule] of [["\u0007", /prohibited/], ["\u0627\u0031", /bidirectional/]]) {
    // 6. prohibited character; 7. bidirectional check
    assert.throws(
      () => saslprep(input as string, { what: "password" }),
      (e) =>
        e instanceof SaslError && e.code === "invalid-argument" &&
        (rule as RegExp).test(e.message) && e.message.startsWith("the password ") &&
        !e.message.includes(input as string),
    );
  }
});

Deno.test("SASLprep: non-ASCII spaces become SPACE; an all-RandAL string is fine", () => {
  assert.equal(saslprep("a\u00A0b\u3000c"), "a b c");
  assert.equal(saslprep("\u0627\u0628"), "\u0627\u0628");
  assert.equal(saslprep(""), "");
  // A string that maps to nothing: @mongodb-js/saslprep 1.6 throws a TypeError on it; the
  // wrapper turns that into the typed error (an empty credential is refused anyway).
  assert.throws(
    () => saslprep("\u00AD\u034F"),
    (e) => e instanceof SaslError && e.code === "invalid-argument",
  );
});

Deno.test("SASLprep: unassigned code points only for queries", () => {
  const unassigned = "\u0221"; // unassigned in Unicode 3.2, the table of RFC 3454
  assert.throws(
    () => saslprep(unassigned),
    (e) => e instanceof SaslError && e.code === "invalid-argument" && /unassigned/.test(e.message),
  );
  assert.equal(saslprep(unassigned, { allowUnassigned: true }), unassigned);
});

Deno.test("SASLprep: prohibited output of every RFC 3454 table class is refused", () => {
  const prohibited = [
    "\u0000", // C.2.1 ASCII control
    "\u0085", // C.2.2 non-ASCII control
    "\uE000", // C.3 private use
    "\uFDD0", // C.4 non-character
    "\uD800", // C.5 lone surrogate
    "\uFFFD", // C.6 inappropriate for plain text
    "\u2FF0", // C.7 ideographic description
    "\u200E", // C.8 change display properties
    "\u{E0001}", // C.9 tagging
  ];
  for (const input of prohibited) {
    assert.throws(
      () => saslprep(`a${input}b`),
      (e) => e instanceof SaslError && e.code === "invalid-argument",
      `U+${input.codePointAt(0)!.toString(16)}`,
    );
  }
});

Deno.test("SASLprep: a non-string is invalid-argument, not a TypeError", () => {
  assert.throws(
    () => saslprep(42 as unknown as string),
    (e) => e instanceof SaslError && e.code === "invalid-argument",
  );
});
