import assert from "node:assert/strict";
import { describeChallenge, redactClientMessage } from "./transcript.ts";

const enc = new TextEncoder();
const RESPONSE = "2b0ee5a1c3d4e5f60718293a4b5c6d7e";

Deno.test("DIGEST-MD5: the response is hidden wherever it stands, a crafted username too", () => {
  for (
    const message of [
      `username="chris",response=${RESPONSE},qop=auth`,
      `response=${RESPONSE}`,
      `username="response=x",realm="r",response=${RESPONSE}`,
      `username="a,response=x",response=${RESPONSE}`,
      `username="u", RESPONSE = ${RESPONSE}`,
      `username="u",response="${RESPONSE}"`,
    ]
  ) {
    const shown = redactClientMessage("DIGEST-MD5", enc.encode(message));
    assert.ok(!shown.includes(RESPONSE), shown);
    assert.match(shown, /\*\*\*/);
  }
});

Deno.test("passwords are *** and only identities stay; unknown mechanisms are *** whole", () => {
  assert.equal(redactClientMessage("PLAIN", enc.encode("\0u\0p")), "\\x00u\\x00***");
  assert.equal(redactClientMessage("PLAIN", enc.encode("no-nul-password")), "***");
  const passwordPrompt = { lastChallenge: enc.encode("Password:") };
  assert.equal(redactClientMessage("LOGIN", enc.encode("secret"), passwordPrompt), "***");
  const oddPrompt = { lastChallenge: enc.encode("Passcode?") };
  assert.equal(redactClientMessage("LOGIN", enc.encode("secret"), oddPrompt), "***");
  const userPrompt = { lastChallenge: enc.encode("Username:") };
  assert.equal(redactClientMessage("LOGIN", enc.encode("tim"), userPrompt), "tim");
  assert.equal(
    redactClientMessage("XOAUTH2", enc.encode("user=u\x01auth=Bearer t")),
    "user=u\\x01auth=Bearer ***",
  );
  assert.equal(redactClientMessage("X-UNKNOWN", enc.encode("anything")), "***");
  assert.equal(redactClientMessage("CRAM-MD5", enc.encode(`tim ${RESPONSE}`)), "tim ***");
  assert.equal(redactClientMessage("CRAM-MD5", enc.encode(RESPONSE)), "***");
  assert.equal(redactClientMessage("PLAIN", new Uint8Array()), "(empty)");
});

Deno.test("challenges are shown with control characters escaped", () => {
  assert.equal(describeChallenge(enc.encode("User Name\0")), "User Name\\x00");
  assert.equal(describeChallenge(enc.encode("a\r\nS: 235 fake")), "a\\x0d\\x0aS: 235 fake");
});
