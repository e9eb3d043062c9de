// Bundles the desk page (and the CIF library its widgets load) into server/assets/desk, which cifd embeds and serves at /desk/.
// The output is committed; the test command rebuilds it and checks nothing changed, so the
// bundle always matches its sources (esbuild is pinned in package-lock.json).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("../server/assets/desk/", import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL("src/desk.ts", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  legalComments: "none",
  outfile: new URL("desk.js", out).pathname,
  logLevel: "warning",
});
// CIF 2.0's widget library, which widgets on other origins load from cifd
// (/webresources/Widget/msdyn_ciLibrary.js).
await build({
  entryPoints: [new URL("src/cif/library.ts", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  legalComments: "none",
  outfile: new URL("msdyn_ciLibrary.js", out).pathname,
  logLevel: "warning",
});
for (const file of ["index.html", "desk.css"]) {
  copyFileSync(new URL(`static/${file}`, import.meta.url), new URL(file, out));
}
