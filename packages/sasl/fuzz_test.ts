// The short, fixed-seed pass of scripts/fuzz.mjs (`npm run fuzz` is the dedicated run of a
// million inputs per target): every parser and state machine gets mutated inputs, and none may
// throw anything but a SaslError or take more than 50 ms. Findings of any run are kept below as
// tests with the input that showed them.
import assert from "node:assert/strict";
// @ts-types="../../scripts/fuzz.d.mts"
import { fuzz, mutate, prng, targets, tryInput } from "../../scripts/fuzz.mjs";

Deno.test("fuzz: 2,000 mutated inputs per target (seed 20261201), no finding", async () => {
  const seen: string[] = [];
  const findings = await fuzz({
    seed: 20261201,
    iterations: 2000,
    onProgress: (p) => seen.push(p.target),
  });
  assert.deepEqual(findings, []);
  // Every target ran: a target that silently dropped out would make this test pass vacuously.
  assert.ok(seen.length >= 17, `only ${seen.length} targets ran`);
});

Deno.test("fuzz: the mutator is deterministic for a seed and changes its input", () => {
  const seed = new TextEncoder().encode('realm="a",nonce="b",algorithm=md5-sess');
  const a = prng(7);
  const b = prng(7);
  let changed = 0;
  for (let i = 0; i < 100; i++) {
    const x = mutate(a, seed, [seed]);
    assert.deepEqual(x, mutate(b, seed, [seed]));
    if (x.length !== seed.length || x.some((v, j) => v !== seed[j])) changed++;
  }
  assert.ok(changed > 90);
});

Deno.test("fuzz: a throw that is not a SaslError is a finding; a SaslError is not", async () => {
  const input = new Uint8Array([1]);
  const rand = prng(1);
  assert.equal(await tryInput({ run: () => {} }, input, rand), null);
  const crash = await tryInput(
    {
      run: () => {
        throw new TypeError("boom");
      },
    },
    input,
    rand,
  );
  assert.equal(crash?.problem, "throw");
  const all = await targets();
  // A known-bad input for a real target is refused with a SaslError, not a finding.
  assert.equal(await tryInput(all["plain server"], new Uint8Array([0, 0, 0]), rand), undefined);
});
