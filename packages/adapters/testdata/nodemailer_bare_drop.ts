// Run by nodemailer_test.ts in a process of its own: plain nodemailer with saslkit's handler
// against a server that drops the connection after 235. The send fails at once; the process
// must then end without waiting out the handler's reply timeout (30 s by default).
import nodemailer from "nodemailer";
import { startTestServer } from "@saslkit/smtp/test-server";
import { nodemailerAuth } from "../nodemailer/mod.ts";

const server = await startTestServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } });
const transporter = nodemailer.createTransport({
  host: server.hostname,
  port: server.port,
  name: "client.example.com",
  ignoreTLS: true,
  ...nodemailerAuth({ user: "smtpuser", pass: "secret", host: "mail.example.com" }),
});
try {
  await transporter.sendMail({ from: "a@example.com", to: "b@example.com", text: "hi" });
  console.log("sent");
} catch (error) {
  console.log(`failed: ${(error as { code?: string }).code}`);
} finally {
  transporter.close();
  await server.close();
}
