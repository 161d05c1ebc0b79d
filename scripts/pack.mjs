// Builds every workspace package and packs it as npm would publish it.
//
//   node scripts/pack.mjs [DESTINATION]     (default: .tmp/pack/)
//
// Prints the tarball paths, one a line, after the build and pack output.

import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { fail, header, ROOT, run, workspacePackages } from "./_workspace.mjs";

/**
 * Cleans and builds every workspace package, then packs each into `destination`. Returns one
 * entry per package with its tarball path and the files npm put in it.
 */
export function packAll(destination) {
  const packages = workspacePackages();

  header("build (per workspace package: scripts/build_npm.mjs, tsc and esbuild)");
  // A file deleted from the sources would otherwise live on in dist/ and be published.
  for (const pkg of packages) rmSync(join(pkg.dir, "dist"), { recursive: true, force: true });
  run("npm", ["run", "build"]);

  header(`pack into ${destination}`);
  // npm pack fails with ENOENT when the destination does not exist.
  mkdirSync(destination, { recursive: true });
  const tarballs = [];
  for (const pkg of packages) {
    const out = run(
      "npm",
      ["pack", "--json", "--workspace", pkg.path, "--pack-destination", destination],
      { capture: true },
    );
    const [info] = JSON.parse(out);
    const tarball = join(destination, info.filename);
    console.log(`${info.name}@${info.version}: ${info.files.length} files, ${info.size} bytes`);
    tarballs.push({
      name: info.name,
      version: info.version,
      dir: pkg.dir,
      packageJson: pkg.packageJson,
      tarball,
      files: info.files.map((file) => file.path),
    });
  }
  return tarballs;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const destination = resolve(process.argv[2] ?? join(ROOT, ".tmp", "pack"));
  try {
    const tarballs = packAll(destination);
    header("tarballs");
    for (const { tarball } of tarballs) console.log(tarball);
  } catch (error) {
    fail(error.message);
  }
}
