// Type-checked against the installed @saslkit/smtp .d.ts files; see README.md.
import { parseEhloAuth } from "@saslkit/smtp";

const mechanisms: string[] = parseEhloAuth(["250 AUTH PLAIN"] as const);
if (mechanisms[0] !== "PLAIN") throw new Error("PLAIN expected");

export { mechanisms };
