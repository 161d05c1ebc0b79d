// The SHA backends of the SCRAM hashing seam agree with each other and with published vectors,
// and the seam picks the backend the measurements chose for this runtime (Deno here).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { hmacSha, pbkdf2Sha, sha, shaBackend, type ShaName, webCryptoBackend } from "./_sha.ts";
import { nodeBackend } from "./_sha_node.ts";
import { nobleBackend } from "./_sha_noble.ts";

const te = new TextEncoder();
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const backends = [nobleBackend, nodeBackend()!, webCryptoBackend()!];

Deno.test("SHA seam: PBKDF2-HMAC-SHA-1 of RFC 6070 (c = 4096), through every backend", async () => {
  for (const backend of backends) {
    const out = await backend.pbkdf2("SHA-1", te.encode("password"), te.encode("salt"), 4096, 20);
    assert.equal(hex(out), "4b007901b765489abead49d926f721d065a429c1", backend.name);
  }
  const seam = await pbkdf2Sha("SHA-1", te.encode("password"), te.encode("salt"), 4096);
  assert.equal(hex(seam), "4b007901b765489abead49d926f721d065a429c1");
});

Deno.test("SHA seam: HMAC-SHA-256 and SHA-512 of RFC 4231 test case 2, every backend", async () => {
  const key = te.encode("Jefe");
  const data = te.encode("what do ya want for nothing?");
  for (const backend of backends) {
    assert.equal(
      hex(await backend.hmac("SHA-256", key, data)),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      backend.name,
    );
  }
  assert.equal(
    hex(await hmacSha("SHA-512", key, data)),
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
  );
});

Deno.test("SHA seam: the backends agree on every hash, random inputs", async () => {
  for (const name of ["SHA-1", "SHA-256", "SHA-512"] as ShaName[]) {
    for (const size of [0, 1, 63, 64, 65, 200, 1000]) {
      const data = crypto.getRandomValues(new Uint8Array(size));
      const key = crypto.getRandomValues(new Uint8Array(size + 1));
      const want = [
        hex(await nobleBackend.hash(name, data)),
        hex(await nobleBackend.hmac(name, key, data)),
        hex(await nobleBackend.pbkdf2(name, key, data, 3, 40)),
      ];
      for (const backend of backends.slice(1)) {
        assert.deepEqual(
          [
            hex(await backend.hash(name, data)),
            hex(await backend.hmac(name, key, data)),
            hex(await backend.pbkdf2(name, key, data, 3, 40)),
          ],
          want,
          `${backend.name} ${name} ${size}`,
        );
      }
      assert.equal(hex(await sha(name, data)), want[0]);
    }
  }
});

Deno.test("SHA seam: Deno uses WebCrypto for PBKDF2 and noble for the rest", async () => {
  const chosen = await shaBackend();
  assert.equal(chosen.name, "webcrypto pbkdf2, noble hmac and hash");
  assert.equal(chosen.hmac, nobleBackend.hmac);
  assert.equal(chosen.hash, nobleBackend.hash);
  const web = webCryptoBackend()!;
  const key = te.encode("key");
  const data = te.encode("data");
  assert.deepEqual(
    await chosen.pbkdf2("SHA-256", key, data, 2, 32),
    await web.pbkdf2("SHA-256", key, data, 2, 32),
  );
});

Deno.test("SHA seam: browsers and workers use WebCrypto alone; Node and Bun node:crypto", () => {
  const url = new URL("./_sha.ts", import.meta.url).href;
  const root = new URL("../../", import.meta.url).pathname;
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: "utf8", cwd: root });
    assert.equal(result.status, 0, `${command}: ${result.stderr}`);
    return result.stdout.trim();
  };
  // A browser-like runtime: Deno without its Deno and process globals.
  const browser = `
    const out = globalThis.Deno.stdout;
    delete globalThis.Deno;
    delete globalThis.process;
    const { shaBackend } = await import(${JSON.stringify(url)});
    out.writeSync(new TextEncoder().encode((await shaBackend()).name));
  `;
  assert.equal(run(Deno.execPath(), ["eval", "--ext=ts", browser]), "webcrypto");
  // Bun runs the source; Node 20 runs it bundled by esbuild.
  const pick = `const { shaBackend } = await import(${JSON.stringify(url)});
    console.log((await shaBackend()).name);`;
  assert.equal(run(`${root}node_modules/.bin/bun`, ["-e", pick]), "node:crypto");
  const node = `
    import { build } from "esbuild";
    const result = await build({
      entryPoints: [${JSON.stringify(new URL(url).pathname)}], bundle: true, format: "esm",
      platform: "node", write: false,
    });
    const code = result.outputFiles[0].text;
    const { shaBackend } = await import("data:text/javascript," + encodeURIComponent(code));
    console.log((await shaBackend()).name);
  `;
  assert.equal(run("node", ["--input-type=module", "-e", node]), "node:crypto");
});
