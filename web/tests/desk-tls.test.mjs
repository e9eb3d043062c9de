// The desk over TLS: cifd serves the page and its grpc-web calls on one TLS port, over HTTP/2
// (so the browser's six connections per host no longer bound the streams), with a server
// certificate from a test CA made as the README shows.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  createAgent,
  createProvider,
  deferred,
  keepScreenshot,
  launchBrowser,
  signIn,
  startCifd,
  testCertificates,
} from "./harness.mjs";

test("the desk over TLS: signed in over HTTP/2, a provider's new session shows at once", async (t) => {
  const later = deferred(t);
  const certificates = testCertificates();
  later(() => certificates.remove());
  const cifd = await startCifd({ tls: certificates });
  later(() => cifd.stop());
  // Chromium accepts exactly this server key, as if the test CA were installed.
  const browser = await launchBrowser({ trustedKeys: [certificates.spki] });
  later(() => browser.close());

  const chat = await createProvider(cifd, "contoso_chat", "Chat", "https://chat.example.com/widget");
  const agent = await createAgent(cifd, "Ada", [chat]);
  assert.match(cifd.endpoint, /^https:\/\/localhost:\d+$/);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "desk-over-tls"));
  const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  assert.equal(protocol, "h2", "the page came over HTTP/2");

  const created = await chat.client.createSession({ agentId: agent.id, title: "Over TLS" });
  await page.locator(`button[role="tab"][data-session-id="${created.session.id}"]`).waitFor();
});

test("a browser that does not trust the certificate gets no desk", async (t) => {
  const later = deferred(t);
  const certificates = testCertificates();
  later(() => certificates.remove());
  const cifd = await startCifd({ tls: certificates });
  later(() => cifd.stop());
  const browser = await launchBrowser();
  later(() => browser.close());
  const page = await browser.newPage();
  await assert.rejects(page.goto(`${cifd.endpoint}/desk/`), /ERR_CERT_AUTHORITY_INVALID/);
});
