// SASLprep (RFC 4013) through saslkit's wrapper: the examples of RFC 4013 §3 and the other
// rules through @mongodb-js/saslprep, failures as typed errors that never quote the input, the
// ASCII path that skips the library (checked against the library for arbitrary ASCII), the
// synchronous form, and the typed error where the library cannot load (no Buffer).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import prepare from "@mongodb-js/saslprep";
import fc from "fast-check";
import { SaslError } from "./error.ts";
import { loadSaslprep, saslprep, saslprepSync } from "./saslprep.ts";

const isInvalid = (rule?: RegExp, input?: string) => (e: unknown) =>
  e instanceof SaslError && e.code === "invalid-argument" &&
  (rule === undefined || rule.test(e.message)) &&
  (input === undefined || !e.message.includes(input));

Deno.test("SASLprep: the examples of RFC 4013 §3", async () => {
  assert.equal(await saslprep("I\u00ADX"), "IX"); // 1. SOFT HYPHEN mapped to nothing
  assert.equal(await saslprep("user"), "user"); // 2. no transformation
  assert.equal(await saslprep("USER"), "USER"); // 3. case preserved
  assert.equal(await saslprep("\u00AA"), "a"); // 4. output is NFKC
  assert.equal(await saslprep("\u2168"), "IX"); // 5. output is NFKC
  for (const [input, rule] of [["\u0007", /prohibited/], ["\u0627\u0031", /bidirectional/]]) {
    // 6. prohibited character; 7. bidirectional check
    await assert.rejects(
      saslprep(input as string, { what: "password" }),
      (e) =>
        isInvalid(rule as RegExp, input as string)(e) &&
        (e as Error).message.startsWith("the password "),
    );
  }
});

Deno.test("SASLprep: non-ASCII spaces become SPACE; an all-RandAL string is fine", async () => {
  assert.equal(await saslprep("a\u00A0b\u3000c"), "a b c");
  assert.equal(await saslprep("\u0627\u0628"), "\u0627\u0628");
  assert.equal(await saslprep(""), "");
  // A string that maps to nothing: @mongodb-js/saslprep 1.6 throws a TypeError on it; the
  // wrapper turns that into the typed error (an empty credential is refused anyway).
  await assert.rejects(saslprep("\u00AD\u034F"), isInvalid());
});

Deno.test("SASLprep: unassigned code points only for queries", async () => {
  const unassigned = "\u0221"; // unassigned in Unicode 3.2, the table of RFC 3454
  await assert.rejects(saslprep(unassigned), isInvalid(/unassigned/));
  assert.equal(await saslprep(unassigned, { allowUnassigned: true }), unassigned);
});

Deno.test("SASLprep: prohibited output of every RFC 3454 table class is refused", async () => {
  const prohibited = [
    "\u0000", // C.2.1 ASCII control
    "\u007F", // C.2.1 ASCII control (DELETE)
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
    await assert.rejects(
      saslprep(`a${input}b`),
      isInvalid(/prohibited/),
      `U+${input.codePointAt(0)!.toString(16)}`,
    );
  }
});

Deno.test("SASLprep: a non-string is invalid-argument, not a TypeError", async () => {
  await assert.rejects(saslprep(42 as unknown as string), isInvalid(/must be a string/));
  assert.throws(() => saslprepSync(42 as unknown as string), isInvalid(/must be a string/));
});

// What the library does with a string: its output, or the rule of the typed error it becomes.
function library(value: string, allowUnassigned: boolean): string {
  try {
    return `ok:${prepare(value, { allowUnassigned })}`;
  } catch (error) {
    return `error:${(error as Error).message.startsWith("Prohibited") ? "prohibited" : "other"}`;
  }
}

Deno.test("SASLprep: for any ASCII string the path without the library agrees with it", async () => {
  const outcome = async (run: () => Promise<string>) => {
    try {
      return `ok:${await run()}`;
    } catch (error) {
      assert.ok(error instanceof SaslError && error.code === "invalid-argument", String(error));
      return `error:${/prohibited/.test(error.message) ? "prohibited" : "other"}`;
    }
  };
  const sync = (value: string, allowUnassigned: boolean) => () =>
    Promise.resolve().then(() => saslprepSync(value, { allowUnassigned }));
  const ascii = fc.string({ unit: "binary-ascii", maxLength: 40 });
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 40,
  });
  await fc.assert(
    fc.asyncProperty(fc.oneof(ascii, printable), fc.boolean(), async (value, allowUnassigned) => {
      const want = library(value, allowUnassigned);
      assert.equal(await outcome(() => saslprep(value, { allowUnassigned })), want);
      assert.equal(await outcome(sync(value, allowUnassigned)), want);
    }),
    { numRuns: 2000 },
  );
  // Every ASCII character alone and inside printable text, exhaustively.
  for (let code = 0; code < 0x80; code++) {
    for (const value of [String.fromCharCode(code), `a${String.fromCharCode(code)}Z`]) {
      assert.equal(await outcome(() => saslprep(value)), library(value, false), `U+${code}`);
    }
  }
});

Deno.test("SASLprep: the synchronous form works for other strings once the library is loaded", async () => {
  await loadSaslprep();
  assert.equal(saslprepSync("\u2168", { what: "password" }), "IX");
  assert.throws(() => saslprepSync("\u0627\u0031"), isInvalid(/bidirectional/));
});

Deno.test("SASLprep: without the library, non-ASCII fails typed in sync form; ASCII never loads it", () => {
  // A fresh process: the library is not loaded, and a printable ASCII string does not load it.
  const url = new URL("./saslprep.ts", import.meta.url).href;
  const script = `
    import { saslprep, saslprepSync } from ${JSON.stringify(url)};
    const out = [];
    out.push(saslprepSync("pencil"));
    out.push(await saslprep("user name~"));
    try { saslprepSync("p\\u00E4ss", { what: "password" }); } catch (e) { out.push(e.code, e.message); }
    out.push(await saslprep("p\\u00E4ss"));
    out.push(saslprepSync("\\u2168"));
    console.log(JSON.stringify(out));
  `;
  const deno = Deno.execPath();
  const result = spawnSync(deno, ["eval", "--ext=ts", script], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const [a, b, code, message, c, d] = JSON.parse(result.stdout);
  assert.deepEqual([a, b, code, c, d], [
    "pencil",
    "user name~",
    "saslprep-unavailable",
    "päss",
    "IX",
  ]);
  assert.match(message, /^the password is not printable ASCII.*loadSaslprep\(\)/);
  assert.ok(!message.includes("päss"));
});

Deno.test("SASLprep: in a browser bundle without Buffer, non-ASCII fails typed; ASCII works", async () => {
  // The browser build of saslprep.ts (esbuild, as an app would bundle it), run where no Buffer
  // exists: the library's browser build calls Buffer as it loads.
  const entry = new URL("./saslprep.ts", import.meta.url).pathname;
  const build = `
    import { build } from "esbuild";
    const result = await build({
      entryPoints: [${JSON.stringify(entry)}], bundle: true, format: "esm", platform: "browser",
      write: false, logLevel: "error",
    });
    process.stdout.write(result.outputFiles[0].text);
  `;
  const built = spawnSync("node", ["--input-type=module", "-e", build], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    cwd: new URL("../../", import.meta.url).pathname,
  });
  assert.equal(built.status, 0, built.stderr);
  const buffer = (globalThis as { Buffer?: unknown }).Buffer;
  delete (globalThis as { Buffer?: unknown }).Buffer;
  try {
    const url = `data:text/javascript;base64,${btoa(unescape(encodeURIComponent(built.stdout)))}`;
    const bundled = await import(url) as typeof import("./saslprep.ts");
    assert.equal(await bundled.saslprep("pencil"), "pencil");
    await assert.rejects(
      bundled.saslprep("p\u00E4ss", { what: "password" }),
      (e: Error & { code?: string }) =>
        e.name === "SaslError" && e.code === "saslprep-unavailable" &&
        /needs a global Buffer: add a Buffer polyfill/.test(e.message) &&
        !e.message.includes("päss"),
    );
  } finally {
    (globalThis as { Buffer?: unknown }).Buffer = buffer;
  }
});
