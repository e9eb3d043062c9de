// What the browser tests stand on: a real cifd (the binary the test command builds), widget
// pages served from this machine's loopback, the TypeScript client (Node, gRPC) as providers
// and operator, and Debian's Chromium driven by playwright-core (no browser download).

import { execFileSync, spawn } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { admin, overTls, provider } from "../../clients/typescript/dist/src/index.js";

const repository = fileURLToPath(new URL("../..", import.meta.url));
export const OPERATOR_TOKEN = "browser-tests-operator-token-0123456789";
/** Where each test leaves a screenshot of its last state (a CI artefact). */
export const ARTIFACTS = join(repository, "target", "browser-tests");

/** How long a test waits for what should come at once: generous for a loaded machine. */
export const PATIENCE = 15_000;

/**
 * Starts cifd on a free port of 127.0.0.1; `dataDir` keeps state across restarts. With `tls`
 * (from `testCertificates`) it serves TLS, and its endpoint is https://localhost:PORT.
 */
export async function startCifd({ dataDir, listen = "127.0.0.1:0", args = [], tls } = {}) {
  const binary = process.env.CIFD_BIN ?? join(repository, "target", "debug", "cifd");
  const storage = dataDir ? ["--data-dir", dataDir] : ["--in-memory"];
  const serving = tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : [];
  const child = spawn(
    binary,
    [...storage, "--listen", listen, "--loopback-http-widgets", "--heartbeat-interval", "500ms", ...serving, ...args],
    { env: { ...process.env, CIF_ADMIN_TOKEN: OPERATOR_TOKEN, CIF_LOG: "warn" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const address = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`cifd exited (${code}) before listening`)));
    lines.on("line", (line) => {
      const found = line.match(/^cifd listening on (.+)$/);
      if (found) resolve(found[1]);
    });
  });
  const endpoint = tls ? `https://localhost:${address.split(":").pop()}` : `http://${address}`;
  const roles = tls ? overTls({ ca: readFileSync(tls.ca) }) : { admin, provider };
  return {
    address,
    endpoint,
    roles,
    admin: roles.admin(endpoint, OPERATOR_TOKEN),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A durable data directory, removed at the end. */
export function dataDirectory() {
  const path = mkdtempSync(join(tmpdir(), "cif-desk-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Serves `page` (HTML) at every path on a port of its own, so an origin of its own: a
 * provider's widget. Its `origin`, the widget's `url` there, and `close`.
 */
async function servePage(page) {
  const server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(page);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, url: `${origin}/widget`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A provider's widget page, served on a port of its own (so an origin of its own). */
export function widgetServer(label) {
  return servePage(`<!doctype html><html lang="en"><title>${label}</title><h1>${label} widget</h1></html>`);
}

/**
 * A CIF 2.0 widget: a page on its own origin that loads CIF's library from the desk the way
 * CIF documents (a script tag with data-crmurl and data-cifid), then runs `code`, written
 * only against `Microsoft.CIFramework`. `log(line)` adds a line to the page's log list.
 */
export async function cifWidgetServer(label, cifd, code) {
  const page = `<!doctype html><html lang="en"><title>${label}</title><h1>${label} widget</h1>
<ul id="log" aria-label="Log"></ul>
<script src="${cifd.endpoint}/webresources/widget/msdyn_cilibrary.js" data-crmurl="${cifd.endpoint}" data-cifid="CIFMainLibrary"></script>
<script>
function log(line) {
  const item = document.createElement("li");
  item.textContent = line;
  document.getElementById("log").append(item);
}
${code}
</script></html>`;
  return servePage(page);
}

/** The example CIF widget (examples/cif-widget), served on its own origin as a provider would. */
export function exampleWidgetServer() {
  return servePage(readFileSync(join(repository, "examples", "cif-widget", "index.html")));
}

/** Creates a provider whose widget is `widgetUrl`, and its client. */
export async function createProvider(cifd, uniqueName, label, widgetUrl) {
  const created = await cifd.admin.createProvider({
    provider: { uniqueName, displayName: label, label, channelUrl: widgetUrl },
  });
  return {
    id: created.provider.id,
    client: cifd.roles.provider(cifd.endpoint, created.credential),
    credential: created.credential,
  };
}

export async function createAgent(cifd, name, providers) {
  const created = await cifd.admin.createAgent({
    agent: { displayName: name, providerIds: providers.map((p) => p.id) },
  });
  return { id: created.agent.id, credential: created.credential };
}

/**
 * A test CA and a server certificate it signed for localhost, 127.0.0.1 and ::1, made with
 * openssl as the README shows, in a directory removed by `remove`; `spki` is the server key's
 * SHA-256 as Chromium's `--ignore-certificate-errors-spki-list` takes it.
 */
export function testCertificates() {
  const dir = mkdtempSync(join(tmpdir(), "cif-tls-"));
  const openssl = (args) => execFileSync("openssl", args.split(" "), { cwd: dir, stdio: "ignore" });
  const key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  openssl(`req -x509 ${key} -days 2 -subj /CN=cif-desk-test-ca -keyout ca.key -out ca.pem`);
  openssl(`req ${key} -subj /CN=localhost -keyout server.key -out server.csr`);
  execFileSync("sh", ["-c", "echo subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 > server.ext"], { cwd: dir });
  openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem");
  const server = new X509Certificate(readFileSync(join(dir, "server.pem")));
  const spki = createHash("sha256").update(server.publicKey.export({ type: "spki", format: "der" })).digest("base64");
  return {
    ca: join(dir, "ca.pem"),
    cert: join(dir, "server.pem"),
    key: join(dir, "server.key"),
    spki,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Debian's Chromium, headless, without a sandbox (tests run as root), without reaching out.
 * `trustedKeys`: server keys (SPKI SHA-256, base64) it accepts as if a trusted CA signed them.
 */
export async function launchBrowser({ trustedKeys = [] } = {}) {
  const trusting = trustedKeys.length ? [`--ignore-certificate-errors-spki-list=${trustedKeys.join(",")}`] : [];
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      ...trusting,
      "--no-sandbox",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      // Nothing resolves a name beyond this machine.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ],
  });
}

/** Opens the desk in a new page of `browser` (or of a browser context) and signs in. */
export async function signIn(browser, cifd, credential) {
  const page = await browser.newPage();
  page.setDefaultTimeout(PATIENCE);
  await page.goto(`${cifd.endpoint}/desk/`);
  await page.getByLabel("Agent credential").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
  return page;
}

/** Keeps the page's last state as a screenshot in the artefacts folder. */
export async function keepScreenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Cleanups for a test that run when it ends, the last registered first (so a screenshot
 * taken at the end sees the servers still running).
 */
export function deferred(t) {
  const cleanups = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return (cleanup) => cleanups.push(cleanup);
}

/** A subscription that has caught up (its first heartbeat came): it hears what follows. */
export async function caughtUp(subscription) {
  const first = await subscription.next();
  if (first.kind !== "heartbeat") throw new Error(`expected the catch-up heartbeat, got ${first.kind}`);
  return subscription;
}

/** A UUID for a toast. */
export function toastId(n) {
  return `0199f0c8-51c4-7bb0-9d8e-${String(n).padStart(12, "0")}`;
}
