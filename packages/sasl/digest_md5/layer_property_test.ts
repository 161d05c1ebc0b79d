// Property tests (fast-check) of the DIGEST-MD5 security layer: for every qop and cipher, in
// both directions, any bytes round-trip; a flipped bit, a replayed buffer and a reordered buffer
// are always refused, with the codes a caller relies on.
import assert from "node:assert/strict";
import fc from "fast-check";
import { SaslError } from "../error.ts";
import { DigestSecurityLayer } from "./_layer.ts";
import { ciphersByName, type DigestCipher } from "./ciphers.ts";

const LAYERS: readonly [("auth-int" | "auth-conf"), DigestCipher | undefined][] = [
  ["auth-int", undefined],
  ["auth-conf", "rc4"],
  ["auth-conf", "rc4-56"],
  ["auth-conf", "rc4-40"],
  ["auth-conf", "des"],
  ["auth-conf", "3des"],
];
const RUNS = { numRuns: 40, seed: 20261201 };

function pair(ha1: Uint8Array, qop: "auth-int" | "auth-conf", cipher?: DigestCipher) {
  const make = (side: "client" | "server") =>
    new DigestSecurityLayer({
      ha1,
      side,
      qop,
      cipher: cipher ? ciphersByName([cipher])[0] : undefined,
      ownMaxbuf: 65536,
      peerMaxbuf: 65536,
    });
  return { client: make("client"), server: make("server") };
}

function refusedWith(fn: () => unknown, codes: readonly string[]): void {
  assert.throws(fn, (e: unknown) => e instanceof SaslError && codes.includes(e.code));
}

const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const messages = fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 1, maxLength: 6 });
const direction = fc.constantFrom("c2s" as const, "s2c" as const);

for (const [qop, cipher] of LAYERS) {
  const label = cipher ?? qop;

  Deno.test(`layer property ${label}: any bytes round-trip, in order, both directions`, () => {
    fc.assert(
      fc.property(key, messages, direction, (ha1, list, dir) => {
        const { client, server } = pair(ha1, qop, cipher);
        const [from, to] = dir === "c2s" ? [client, server] : [server, client];
        for (const message of list) {
          const wrapped = from.wrap(message);
          assert.deepEqual(to.unwrap(wrapped), message);
          // Wrapping leaves the caller's buffer as it was.
          assert.ok(wrapped.length > message.length);
        }
        // Interleaved traffic the other way keeps its own sequence numbers and keystream.
        assert.deepEqual(from.unwrap(to.wrap(list[0])), list[0]);
      }),
      RUNS,
    );
  });

  Deno.test(`layer property ${label}: a flipped bit anywhere is refused`, () => {
    fc.assert(
      fc.property(
        key,
        fc.uint8Array({ maxLength: 600 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        direction,
        (ha1, message, where, bit, dir) => {
          const { client, server } = pair(ha1, qop, cipher);
          const [from, to] = dir === "c2s" ? [client, server] : [server, client];
          const wrapped = from.wrap(message);
          wrapped[where % wrapped.length] ^= 1 << bit;
          refusedWith(() => to.unwrap(wrapped), ["integrity-check-failed", "sequence-mismatch"]);
          // A layer that refused a buffer refuses everything after it.
          refusedWith(() => to.unwrap(from.wrap(message)), ["invalid-state"]);
        },
      ),
      RUNS,
    );
  });

  Deno.test(`layer property ${label}: a replayed or reordered buffer is refused`, () => {
    fc.assert(
      fc.property(
        key,
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        (ha1, a, b, replay) => {
          const { client, server } = pair(ha1, qop, cipher);
          const first = client.wrap(a);
          const second = client.wrap(b);
          if (replay) {
            assert.deepEqual(server.unwrap(first), a);
            refusedWith(() => server.unwrap(first), ["sequence-mismatch"]);
          } else {
            refusedWith(() => server.unwrap(second), ["sequence-mismatch"]);
          }
        },
      ),
      RUNS,
    );
  });
}
