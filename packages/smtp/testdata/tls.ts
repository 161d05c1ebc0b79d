// A throwaway certificate authority and a server certificate for mail.example.com, made with
// the openssl command for each test run, so that no private key lives in the repository.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  /** The CA certificate (PEM): what a client trusts. */
  readonly ca: string;
  /** The server's private key (PEM). */
  readonly key: string;
  /** The server's certificate for mail.example.com (PEM), signed by `ca`. */
  readonly cert: string;
  /** A client certificate for CN=smtpuser (PEM), signed by `ca`, and its key. */
  readonly client: { readonly key: string; readonly cert: string };
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "saslkit-tls-"));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=saslkit test CA",
      "-keyout",
      path("ca.key"),
      "-out",
      path("ca.pem"),
    );
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=mail.example.com",
      "-keyout",
      path("key.pem"),
      "-out",
      path("leaf.csr"),
    );
    writeFileSync(
      path("leaf.ext"),
      "subjectAltName=DNS:mail.example.com\nbasicConstraints=CA:FALSE\n" +
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      path("leaf.csr"),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      path("leaf.ext"),
      "-out",
      path("cert.pem"),
    );
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=smtpuser",
      "-keyout",
      path("client.key"),
      "-out",
      path("client.csr"),
    );
    writeFileSync(path("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    openssl(
      "x509",
      "-req",
      "-in",
      path("client.csr"),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      path("client.ext"),
      "-out",
      path("client.pem"),
    );
    return {
      ca: readFileSync(path("ca.pem"), "utf8"),
      key: readFileSync(path("key.pem"), "utf8"),
      cert: readFileSync(path("cert.pem"), "utf8"),
      client: {
        key: readFileSync(path("client.key"), "utf8"),
        cert: readFileSync(path("client.pem"), "utf8"),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
