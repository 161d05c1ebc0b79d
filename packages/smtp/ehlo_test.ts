import assert from "node:assert/strict";
import { parseEhloAuth } from "./ehlo.ts";

Deno.test("parseEhloAuth reads the standard AUTH line with reply codes", () => {
  assert.deepEqual(
    parseEhloAuth([
      "250-mail.example.com Hello",
      "250-PIPELINING",
      "250-AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
      "250 8BITMIME",
    ]),
    ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"],
  );
});

Deno.test("parseEhloAuth reads lines without reply codes and the last line", () => {
  assert.deepEqual(parseEhloAuth(["mail.example.com", "AUTH PLAIN"]), ["PLAIN"]);
  assert.deepEqual(parseEhloAuth(["250-mail.example.com", "250 AUTH LOGIN"]), ["LOGIN"]);
});

Deno.test("parseEhloAuth reads the obsolete AUTH= form", () => {
  assert.deepEqual(parseEhloAuth(["250-AUTH=LOGIN PLAIN"]), ["LOGIN", "PLAIN"]);
});

Deno.test("parseEhloAuth upper-cases and de-duplicates in first-seen order", () => {
  assert.deepEqual(
    parseEhloAuth(["250-auth login cram-md5", "250-AUTH=LOGIN PLAIN", "250 Auth Plain login"]),
    ["LOGIN", "CRAM-MD5", "PLAIN"],
  );
});

Deno.test("parseEhloAuth tolerates extra whitespace", () => {
  assert.deepEqual(parseEhloAuth(["250-AUTH   PLAIN\tLOGIN  "]), ["PLAIN", "LOGIN"]);
});

Deno.test("parseEhloAuth returns nothing when AUTH is not offered", () => {
  assert.deepEqual(parseEhloAuth([]), []);
  assert.deepEqual(parseEhloAuth(["250-mail.example.com", "250 STARTTLS"]), []);
  assert.deepEqual(parseEhloAuth(["250 AUTH"]), []);
});

Deno.test("parseEhloAuth ignores keywords that only start with AUTH", () => {
  assert.deepEqual(parseEhloAuth(["250-AUTHENTICATE PLAIN", "250 X-AUTH LOGIN"]), []);
});

Deno.test("parseEhloAuth ignores invalid mechanism names", () => {
  assert.deepEqual(
    parseEhloAuth(["250 AUTH PLAIN X.BAD THIS-NAME-IS-LONGER-THAN-20 LOGIN"]),
    ["PLAIN", "LOGIN"],
  );
});
