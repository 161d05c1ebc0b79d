// tls-server-end-point (RFC 5929 §4) against the certificates in testdata/certs/, made with
// `openssl req -x509` (keys discarded). The expected hashes were printed by
// `openssl x509 -fingerprint -<hash>` when the fixtures were made, and are checked again
// against the installed openssl when there is one (always under CI=true).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { decodeBase64 } from "./base64.ts";
import { tlsServerEndPoint } from "./channel_binding.ts";
import { SaslError } from "./error.ts";

const DIR = new URL("./testdata/certs/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, DIR));
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const der = (pem: string) =>
  decodeBase64(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));

// [file, the hash RFC 5929 §4.1 picks, openssl's fingerprint with it]
const CASES: readonly [string, "sha256" | "sha384" | "sha512", string][] = [
  [
    "rsa-sha256.pem",
    "sha256",
    "85414135e0de447cb675134cf204b25d3cb3277719115 79aa7c679541e3f53b5",
  ],
  // MD5 and SHA-1 signatures are hashed with SHA-256, not with their own hash.
  ["rsa-md5.pem", "sha256", "ef55d6c697028b63d9401b31f13d6467896cbb78f77ff1ff7e0276e5c7006e91"],
  ["rsa-sha1.pem", "sha256", "57724d00f9cfc6dc201863935f0190187dda5fbe900319bc63418e6c26fb2953"],
  [
    "rsa-sha512.pem",
    "sha512",
    "ae518a1fb422a554bbbbb6530119fefc560025dde849c874a7aaff0dfb462696" +
    "0455553bea3f437b34e23f0912cd81c66c0b824c9ac68dd8c28881b9084c9864",
  ],
  [
    "ecdsa-sha384.pem",
    "sha384",
    "88b14e510ffd4d4b035823f5cd3723361 60dd1e8c2ab3216716077f14811fa838bf8ac250ed01738f941b9c2821c2e5a",
  ],
  [
    "rsa-pss-sha384.pem",
    "sha384",
    "0b040bf298818ea281902d4d7ee030a586fc23c357d0359b720f58f155c30bab6576 43ac57398729d02ecef6c7cdb9a1",
  ],
].map(([file, hash, value]) => [file, hash, value.replaceAll(" ", "")] as never);

for (const [file, hash, expected] of CASES) {
  Deno.test(`tls-server-end-point: ${file} hashes with ${hash}`, () => {
    const pem = read(file);
    assert.equal(hex(tlsServerEndPoint(pem)), expected);
    assert.equal(hex(tlsServerEndPoint(der(pem))), expected, "DER input gives the same");
  });
}

Deno.test("tls-server-end-point: matches the installed openssl's fingerprints", () => {
  const probe = spawnSync("openssl", ["version"]);
  if (probe.error || probe.status !== 0) {
    if (Deno.env.get("CI") === "true") throw new Error("openssl is missing under CI=true");
    console.warn("SKIPPED: no openssl to cross-check tls-server-end-point");
    return;
  }
  for (const [file, hash] of CASES) {
    const result = spawnSync("openssl", [
      "x509",
      "-in",
      new URL(file, DIR).pathname,
      "-noout",
      "-fingerprint",
      `-${hash}`,
    ], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const fingerprint = result.stdout.trim().split("=")[1].replaceAll(":", "").toLowerCase();
    assert.equal(hex(tlsServerEndPoint(read(file))), fingerprint, file);
  }
});

Deno.test("tls-server-end-point: Ed25519 has no single hash, so the binding is undefined", () => {
  assert.throws(
    () => tlsServerEndPoint(read("ed25519.pem")),
    (e) =>
      e instanceof SaslError && e.code === "invalid-argument" && /1\.3\.101\.112/.test(e.message),
  );
});

Deno.test("tls-server-end-point: what is not a certificate is invalid-argument", () => {
  const good = der(read("rsa-sha256.pem"));
  const bad: [string, Uint8Array | string][] = [
    ["empty", new Uint8Array(0)],
    ["truncated", good.subarray(0, good.length - 10)],
    ["trailing garbage", new Uint8Array([...good, 0])],
    ["not a SEQUENCE", new Uint8Array([0x04, 0x01, 0x00])],
    ["length overflow", new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])],
    ["no PEM block", "hello"],
    ["bad PEM base64", "-----BEGIN CERTIFICATE-----\nAB=C\n-----END CERTIFICATE-----"],
  ];
  for (const [what, input] of bad) {
    assert.throws(
      () => tlsServerEndPoint(input),
      (e) => e instanceof SaslError && e.code === "invalid-argument",
      what,
    );
  }
});
