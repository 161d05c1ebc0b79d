// A STARTTLS terminator in Node, for the gsasl interop test over real TLS: Deno 2.9's node:tls has
// no exportKeyingMaterial and no real getFinished, so Node ends the TLS session, tells the test
// the channel bindings of each connection, and relays the plaintext to the test's SMTP responder.
//
//   node starttls_terminator.mjs '{"cert":"<pem path>","key":"<pem path>","backend":<port>,
//                                  "maxVersion":"TLSv1.2"}'
//
// stdout: "LISTEN <port>", then per connection "CB <json>" with the TLS version and the binding
// data in hex: tlsExporter (RFC 9266: label EXPORTER-Channel-Binding, no context),
// tlsExporterEmptyContext (the same with a zero-length context: differs below TLS 1.3) and
// tlsUnique (RFC 5929 §3: the first Finished of the handshake, the client's in a full one;
// TLS 1.2 only) and serverFinished (the server's own Finished). Before the upgrade it speaks just enough SMTP: the greeting, EHLO, STARTTLS.
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";

const config = JSON.parse(process.argv[2]);
const context = createSecureContext({
  cert: readFileSync(config.cert),
  key: readFileSync(config.key),
  maxVersion: config.maxVersion ?? "TLSv1.3",
});

const server = createServer((raw) => {
  let buffer = "";
  const onData = (chunk) => {
    buffer += chunk.toString("latin1");
    let newline;
    while ((newline = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 2);
      if (/^EHLO\b/i.test(line)) {
        raw.write("250-mail.example.com\r\n250 STARTTLS\r\n");
      } else if (/^STARTTLS$/i.test(line)) {
        raw.off("data", onData);
        raw.write("220 2.0.0 Ready to start TLS\r\n");
        upgrade(raw);
        return;
      } else if (/^QUIT$/i.test(line)) {
        raw.end("221 2.0.0 Bye\r\n");
      } else {
        raw.write("530 5.7.0 Must issue a STARTTLS command first\r\n");
      }
    }
  };
  raw.on("data", onData);
  raw.on("error", () => {});
  raw.write("220 mail.example.com ESMTP saslkit STARTTLS terminator\r\n");
});

function upgrade(raw) {
  const tls = new TLSSocket(raw, { isServer: true, secureContext: context });
  tls.on("error", (error) => process.stdout.write(`ERR ${error.message}\n`));
  tls.on("secure", () => {
    const protocol = tls.getProtocol();
    const hex = (buffer) => (buffer ? Buffer.from(buffer).toString("hex") : undefined);
    const bindings = {
      protocol,
      tlsExporter: hex(tls.exportKeyingMaterial(32, "EXPORTER-Channel-Binding")),
      tlsExporterEmptyContext: hex(
        tls.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)),
      ),
      // A full handshake: the client's Finished comes first. tls-unique is undefined for TLS 1.3.
      tlsUnique: protocol === "TLSv1.3" ? undefined : hex(tls.getPeerFinished()),
      // The server's own Finished: the wrong choice for tls-unique, for a negative test.
      serverFinished: protocol === "TLSv1.3" ? undefined : hex(tls.getFinished()),
    };
    process.stdout.write(`CB ${JSON.stringify(bindings)}\n`);
    const backend = connect({ host: "127.0.0.1", port: config.backend });
    backend.on("error", () => tls.destroy());
    tls.on("close", () => backend.destroy());
    backend.on("close", () => tls.destroy());
    tls.pipe(backend);
    backend.pipe(tls);
  });
}

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`LISTEN ${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
