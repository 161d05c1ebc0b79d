// What a saslkit client running in Deno can take from node:tls as channel-binding data, checked
// against OpenSSL's view of the same TLS session (Node, in gsasl/starttls_terminator.mjs, after
// an SMTP STARTTLS): the certificate for tls-server-end-point is right; Deno 2.9.6 has no
// exportKeyingMaterial (no tls-exporter), and its getFinished() is not the TLS 1.2 Finished
// message, so tls-unique taken from it cannot match any real server. The last two are canaries:
// they fail when Deno changes, and then the transports can start offering those bindings.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { connect as netConnect, createServer, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tlsServerEndPoint } from "../channel_binding.ts";
import { pemToDer } from "./postgres/cluster.ts";
import { makeCertificate, type SessionBindings } from "./gsasl/tls_session.ts";
import { hex } from "./scram_peers.ts";

const TERMINATOR = fileURLToPath(new URL("./gsasl/starttls_terminator.mjs", import.meta.url));

/** SMTP greeting, STARTTLS, then the TLS handshake, upgrading inside the data handler. */
function startTls(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: "127.0.0.1", port });
    tcp.once("error", reject);
    let text = "";
    let greeted = false;
    const onData = (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      if (!greeted && /^220 [^\r]*\r\n/.test(text)) {
        greeted = true;
        text = "";
        tcp.write("STARTTLS\r\n");
      } else if (greeted && /^220 2\.0\.0[^\r]*\r\n/.test(text)) {
        tcp.off("data", onData);
        const tls = tlsConnect({ socket: tcp, ca, checkServerIdentity: () => undefined });
        tls.once("secureConnect", () => resolve(tls));
        tls.once("error", reject);
      }
    };
    tcp.on("data", onData);
  });
}

/** One STARTTLS session from Deno to the Node terminator; both sides' views. */
async function session(maxVersion: "TLSv1.2" | "TLSv1.3") {
  const certificate = makeCertificate();
  if (typeof certificate === "string") throw new Error(certificate);
  const accepted: Socket[] = [];
  const backend = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", () => resolve()));
  const backendPort = (backend.address() as { port: number }).port;
  const terminator = spawn("node", [
    TERMINATOR,
    JSON.stringify({
      cert: certificate.cert,
      key: certificate.key,
      backend: backendPort,
      maxVersion,
    }),
  ], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  const waiters: Array<() => void> = [];
  terminator.stdout!.on("data", (chunk: Uint8Array) => {
    output += new TextDecoder().decode(chunk);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const seen = async (prefix: string): Promise<string> => {
    for (;;) {
      const line = output.split("\n").find((l) => l.startsWith(prefix));
      if (line !== undefined) return line.slice(prefix.length);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  let tls: TLSSocket | undefined;
  try {
    const port = Number(await seen("LISTEN "));
    const pem = Deno.readTextFileSync(certificate.cert);
    tls = await startTls(port, pem);
    const node = JSON.parse(await seen("CB ")) as SessionBindings;
    return {
      node,
      pemDer: pemToDer(pem),
      deno: {
        protocol: tls.getProtocol(),
        certificate: new Uint8Array(tls.getPeerCertificate(true).raw),
        // deno-lint-ignore no-explicit-any
        exporter: (tls as any).exportKeyingMaterial?.(32, "EXPORTER-Channel-Binding"),
        finished: tls.getFinished(),
      },
    };
  } finally {
    tls?.destroy();
    terminator.stdin!.end();
    terminator.kill();
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    rmSync(certificate.dir, { recursive: true, force: true });
  }
}

Deno.test("Deno node:tls: the server certificate for tls-server-end-point is the served one", async () => {
  const { deno, pemDer } = await session("TLSv1.3");
  assert.equal(deno.protocol, "TLSv1.3");
  assert.deepEqual(deno.certificate, pemDer);
  assert.equal(tlsServerEndPoint(deno.certificate).length, 32); // ECDSA with SHA-256
});

Deno.test("Deno 2.9 node:tls has no exportKeyingMaterial: no tls-exporter (canary)", async () => {
  const { deno, node } = await session("TLSv1.3");
  assert.equal(deno.exporter, undefined);
  assert.equal(node.tlsExporter?.length, 64); // OpenSSL has it for the same session
});

Deno.test("Deno 2.9 node:tls getFinished() is not the TLS 1.2 Finished: no tls-unique (canary)", async () => {
  const { deno, node } = await session("TLSv1.2");
  assert.equal(deno.protocol, "TLSv1.2");
  // tls-unique: the first Finished of the handshake, the client's, 12 bytes in TLS 1.2.
  assert.equal(node.tlsUnique?.length, 24);
  assert.notEqual(deno.finished === undefined ? undefined : hex(deno.finished), node.tlsUnique);
});
