// node:crypto where the runtime has it (Node, Deno and Bun give it through
// `process.getBuiltinModule`, synchronously), for the backends that measured faster with it.
// Read through globalThis with no static `node:` import, so that browsers (no `process`) and
// bundlers see no Node global and keep the portable paths.

/**
 * `node:crypto`, typed as the slice the caller uses, or `undefined` where the runtime has none
 * (browsers, workers) or refuses it. Callers check the functions they need before using them.
 */
export function nodeCrypto<Slice>(): Slice | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  try {
    return proc?.getBuiltinModule?.("node:crypto") as Slice | undefined;
  } catch {
    return undefined;
  }
}
