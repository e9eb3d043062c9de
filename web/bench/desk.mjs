// The desk's figures, for the benchmark suite (cif-bench --only desk runs this): from a
// provider's call to the page showing its effect (a MutationObserver in the page timestamps
// the change), p50 and p99 over EVENTS changes made one at a time, beside the call's own
// round trip in the same run; the first render after
// sign-in of a desk with SESSIONS sessions of TABS tabs; the sizes of the page's bundle and
// of the CIF library widgets load, raw and gzipped.
// Prints one line of JSON. Needs what the browser tests need (CIFD_BIN, CHROMIUM).

import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

import { createAgent, createProvider, launchBrowser, signIn, startCifd, widgetServer } from "../tests/harness.mjs";

const EVENTS = Number(process.env.EVENTS ?? 200);
const SESSIONS = Number(process.env.SESSIONS ?? 10);
const TABS = Number(process.env.TABS ?? 3);
const now = () => performance.timeOrigin + performance.now();

const cifd = await startCifd();
const widget = await widgetServer("Chat");
const browser = await launchBrowser();
try {
  const chat = await createProvider(cifd, "bench_chat", "Chat", widget.url);

  // Latency: the session's title changes, one change at a time.
  const ada = await createAgent(cifd, "Ada", [chat]);
  const session = (await chat.client.createSession({ agentId: ada.id, title: "T-1" })).session.id;
  const page = await signIn(browser, cifd, ada.credential);
  await page.locator(".session .title", { hasText: "T-1" }).waitFor();
  await page.evaluate(() => {
    const seen = (globalThis.__seen = new Map());
    const bar = document.querySelector(".session-bar");
    new MutationObserver(() => {
      const at = performance.timeOrigin + performance.now();
      for (const title of bar.querySelectorAll(".session .title")) {
        const text = title.textContent ?? "";
        if (/^T\d+$/.test(text) && !seen.has(text)) seen.set(text, at);
      }
    }).observe(bar, { childList: true, subtree: true, characterData: true });
  });
  const latencies = [];
  // The baseline in the same run: the call's own round trip, answered before the page shows it.
  const answers = [];
  for (let n = 0; n < EVENTS; n++) {
    const sent = now();
    await chat.client.setSessionTitle({ sessionId: session, title: `T${n}` });
    answers.push(now() - sent);
    const shown = await (
      await page.waitForFunction((title) => globalThis.__seen.get(title), `T${n}`, { polling: "raf" })
    ).jsonValue();
    latencies.push(shown - sent);
  }
  latencies.sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  const quantile = (values, q) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
  const at = (q) => quantile(latencies, q);

  // First render: a desk of SESSIONS sessions with TABS tabs each, from the sign-in click to
  // every session in the bar.
  const bob = await createAgent(cifd, "Bob", [chat]);
  for (let s = 0; s < SESSIONS; s++) {
    const id = (await chat.client.createSession({ agentId: bob.id, title: `Session ${s}` })).session.id;
    for (let t = 0; t < TABS; t++) {
      await chat.client.createTab({ sessionId: id, title: `Tab ${t}`, page: { kind: 1 /* DASHBOARD */ } });
    }
  }
  const fresh = await browser.newPage();
  await fresh.goto(`${cifd.endpoint}/desk/`);
  await fresh.getByLabel("Agent credential").fill(bob.credential);
  await fresh.evaluate((count) => {
    new MutationObserver((_, observer) => {
      if (document.querySelectorAll('.session-bar button[role="tab"]').length === count) {
        globalThis.__rendered = performance.timeOrigin + performance.now();
        observer.disconnect();
      }
    }).observe(document.getElementById("desk"), { childList: true, subtree: true });
  }, SESSIONS + 1);
  const clicked = now();
  await fresh.getByRole("button", { name: "Sign in" }).click();
  const rendered = await (await fresh.waitForFunction(() => globalThis.__rendered)).jsonValue();

  const bundle = readFileSync(new URL("../../server/assets/desk/desk.js", import.meta.url));
  const library = readFileSync(new URL("../../server/assets/desk/msdyn_ciLibrary.js", import.meta.url));
  console.log(
    JSON.stringify({
      events: latencies.length,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: latencies[latencies.length - 1],
      answer_p50_ms: quantile(answers, 0.5),
      answer_p99_ms: quantile(answers, 0.99),
      first_render_ms: rendered - clicked,
      sessions: SESSIONS,
      tabs: TABS,
      bundle_bytes: bundle.length,
      bundle_gzip_bytes: gzipSync(bundle, { level: 9 }).length,
      library_bytes: library.length,
      library_gzip_bytes: gzipSync(library, { level: 9 }).length,
    }),
  );
} finally {
  await browser.close();
  await widget.close();
  await cifd.stop();
}
