// CIF 2.0 widgets on cifd's desk, in Chromium: widget pages written only against
// Microsoft.CIFramework as CIF's documentation shows it, served from their own origins, load
// the library from cifd and run unchanged (rule 21).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  PATIENCE,
  cifWidgetServer,
  createAgent,
  createProvider,
  dataDirectory,
  deferred,
  exampleWidgetServer,
  keepScreenshot,
  launchBrowser,
  signIn,
  startCifd,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const PANEL = { MINIMIZED: 1, DOCKED: 2 };

const widget = (page, provider) => page.locator(`section.widget[data-provider-id="${provider.id}"]`);
const frameOf = (page, provider) => widget(page, provider).locator("iframe").contentFrame();
const session = (page, id) => page.locator(`button[role="tab"][data-session-id="${id}"]`);

/** Waits until the page shows the panel in `mode`. */
const panelIs = (page, mode) =>
  page.waitForFunction((mode) => document.querySelector(".panel")?.getAttribute("data-mode") === mode, mode);

/** Waits until the widget's log shows a line matching `pattern`, and returns it. */
async function logged(page, provider, pattern) {
  const line = frameOf(page, provider).getByRole("listitem", { includeHidden: true }).filter({ hasText: pattern });
  await line.first().waitFor({ state: "attached", timeout: PATIENCE });
  return line.first().textContent();
}

/** The seed's telephony provider: a default session with a dialer tab, then docked. */
async function dialerTemplates(cifd) {
  await cifd.admin.createTabTemplate({
    tabTemplate: { uniqueName: "phone_dialer", displayName: "Dialer", title: "Dialer", pageKind: 1 /* DASHBOARD */ },
  });
  await cifd.admin.createSessionTemplate({
    sessionTemplate: { uniqueName: "phone_default", displayName: "Phone", title: "Phone", anchorTab: "phone_dialer" },
  });
}

const PHONE_WIDGET = `
Microsoft.CIFramework.addHandler("onSessionSwitched", (data) => {
  const event = JSON.parse(data);
  log("switched " + event.sessionId + " focused=" + event.focused);
});
window.addEventListener("CIFInitDone", async () => {
  const sessionId = await Microsoft.CIFramework.createSession({ templateName: "phone_default", templateParameters: {} });
  log("session " + sessionId);
  await Microsoft.CIFramework.setMode(1);
  log("docked, mode " + (await Microsoft.CIFramework.getMode()));
});`;

const CHAT_WIDGET = `
Microsoft.CIFramework.addHandler("onSessionSwitched", (data) => {
  const event = JSON.parse(data);
  log("switched " + event.sessionId + " focused=" + event.focused);
});
window.addEventListener("CIFInitDone", () => log("ready"));`;

/** A cifd with the dialer templates, a chat and a phone provider running CHAT_WIDGET and
 * PHONE_WIDGET on origins of their own, and an agent admitting both. */
async function chatAndPhone(later) {
  const cifd = await startCifd();
  later(() => cifd.stop());
  await dialerTemplates(cifd);
  const chatWidget = await cifWidgetServer("Chat", cifd, CHAT_WIDGET);
  const phoneWidget = await cifWidgetServer("Phone", cifd, PHONE_WIDGET);
  later(() => chatWidget.close());
  later(() => phoneWidget.close());
  const chat = await createProvider(cifd, "contoso_chat", "Chat", chatWidget.url);
  const phone = await createProvider(cifd, "contoso_phone", "Phone", phoneWidget.url);
  const agent = await createAgent(cifd, "Ada", [chat, phone]);
  return { cifd, chat, phone, agent, chatWidget, phoneWidget };
}

test("the seed's multiple-providers pattern: a widget's default session and setMode(1), unchanged CIF code", async (t) => {
  const later = deferred(t);
  const { cifd, chat, phone, agent } = await chatAndPhone(later);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "cif-default-session-docked"));

  // The phone widget's own initialisation: its default session, focused, with the dialer tab;
  // its widget shows, docked.
  const sessionId = (await logged(page, phone, /^session /)).slice("session ".length);
  await session(page, sessionId).and(page.locator('[aria-selected="true"]')).waitFor();
  await page.getByRole("tab", { name: "Dialer" }).waitFor();
  assert.equal(await logged(page, phone, /^docked/), "docked, mode 1");
  await widget(page, phone).waitFor({ state: "visible" });
  assert.equal(await page.locator("#panel-mode").inputValue(), String(PANEL.DOCKED));
  await logged(page, chat, "ready");
  assert.equal(await widget(page, chat).isVisible(), false);

  // Home with two providers: no widget shows, and a widget's setMode there is refused with
  // CIF's error shape (a message, and cifd's reason).
  await page.getByRole("tab", { name: /^Home/ }).click();
  assert.equal(await logged(page, phone, /^switched /), `switched ${sessionId} focused=false`);
  await widget(page, phone).waitFor({ state: "hidden" });
  const refused = await frameOf(page, chat)
    .locator("body")
    .evaluate(() => Microsoft.CIFramework.setMode(1).then(() => undefined, (error) => error));
  assert.equal(refused.reason, "HOME_SESSION_MODE_UNSUPPORTED");
  assert.equal(refused.msdyn_name, "setMode");
  assert.match(refused.message, /home session/);
});

test("a widget reaches only its own work; the desk ignores frames it did not make; sign-out revokes", async (t) => {
  const later = deferred(t);
  const { cifd, chat, phone, agent, chatWidget, phoneWidget } = await chatAndPhone(later);

  const page = await browser.newPage();
  page.setDefaultTimeout(PATIENCE);
  // The widget credentials the desk is issued, read off the wire to replay them later.
  const credentials = [];
  page.on("response", async (response) => {
    if (response.url().endsWith("/cif.v1.AgentService/IssueWidgetCredential")) {
      const body = await response.body();
      const token = body.toString("latin1").match(/cifw_[A-Za-z0-9_-]{43}/);
      if (token) credentials.push(token[0]);
    }
  });
  await page.goto(`${cifd.endpoint}/desk/`);
  await page.getByLabel("Agent credential").fill(agent.credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
  later(() => keepScreenshot(page, "cif-isolation"));

  const phoneSession = (await logged(page, phone, /^session /)).slice("session ".length);
  await logged(page, chat, "ready");
  const chatFrame = frameOf(page, chat).locator("body");

  // Chat cannot touch phone's session, nor see it.
  const refused = await chatFrame.evaluate(
    (_, id) => Microsoft.CIFramework.requestFocusSession(id, 2).then(() => undefined, (error) => error),
    phoneSession,
  );
  assert.equal(refused.reason, "SESSION_NOT_FOUND", refused.message);
  assert.deepEqual(await chatFrame.evaluate(() => Microsoft.CIFramework.getAllSessions()), []);

  // A frame the desk did not make, on chat's own origin, posts a call: ignored. The real chat
  // widget's call after it is answered, and only that one made a session.
  await page.evaluate((url) => {
    const forged = document.createElement("iframe");
    forged.src = url;
    forged.id = "forged";
    document.body.append(forged);
  }, chatWidget.url);
  const forged = page.frameLocator("#forged").locator("body");
  await page.frameLocator("#forged").getByRole("heading", { name: "Chat widget" }).waitFor();
  await forged.evaluate((_, desk) => {
    window.parent.postMessage({ cif: "call", id: 1, method: "createSession", args: [{ templateName: "phone_default" }] }, desk);
  }, cifd.endpoint);
  const own = await chatFrame.evaluate(() => Microsoft.CIFramework.createSession({ templateName: "phone_default" }));
  const listed = await chat.client.listSessions({ agentId: agent.id });
  assert.deepEqual(listed.sessions.map((s) => s.id), [own], "the forged call made nothing");
  assert.equal(await forged.evaluate(() => document.getElementById("log").children.length), 0, "never initialised");

  // Each widget's handlers hear of its own sessions only: the agent switches to phone's
  // session (chat's loses focus), then back.
  await session(page, phoneSession).click();
  assert.equal(await logged(page, phone, `switched ${phoneSession} focused=true`), `switched ${phoneSession} focused=true`);
  await logged(page, chat, `switched ${own} focused=false`);
  await session(page, own).click();
  await logged(page, chat, `switched ${own} focused=true`);
  await logged(page, phone, `switched ${phoneSession} focused=false`);
  const heard = async (provider) =>
    frameOf(page, provider).getByRole("listitem", { includeHidden: true }).filter({ hasText: /^switched / }).allTextContents();
  for (const line of await heard(chat)) assert.match(line, new RegExp(`^switched ${own} `));
  for (const line of await heard(phone)) assert.match(line, new RegExp(`^switched ${phoneSession} `));

  // The frame the desk made for chat goes to another origin (phone's widget page, which runs
  // phone's widget code): what it posts from there is not chat's, and is ignored: the desk
  // issues no credential for it and answers nothing.
  let issuedSince = 0;
  page.on("request", (request) => {
    if (request.url().endsWith("/cif.v1.AgentService/IssueWidgetCredential")) issuedSince += 1;
  });
  await chatFrame.evaluate((_, url) => {
    location.href = url;
  }, phoneWidget.url);
  const moved = frameOf(page, chat);
  await moved.getByRole("heading", { name: "Phone widget", includeHidden: true }).waitFor({ state: "attached" });
  // Its library has loaded, and so has posted its hello to the desk...
  await moved.locator("body").evaluate(
    () => new Promise((resolve) => (function loaded() { window.Microsoft?.CIFramework ? resolve() : setTimeout(loaded, 10); })()),
  );
  // ...which the desk has handled once its own queue got this far.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
  assert.equal(issuedSince, 0, "no credential for a frame at the wrong origin");
  assert.equal(await moved.locator("#log li").count(), 0, "never initialised");

  // Sign-out: the page revokes its widget credentials; a replay of one is refused.
  assert.ok(credentials.length >= 2, `the desk was issued widget credentials (${credentials.length})`);
  const revoked = page.waitForResponse((r) => r.url().endsWith("/cif.v1.AgentService/RevokeWidgetCredentials"));
  await page.getByRole("button", { name: "Sign out" }).click();
  await revoked;
  const { provider } = await import("../../clients/typescript/dist/src/index.js");
  for (const credential of credentials) {
    await assert.rejects(provider(cifd.endpoint, credential).getMode({ agentId: agent.id }), (error) => {
      assert.equal(error.reason, "CREDENTIAL_INVALID");
      return true;
    });
  }
});

const SINGLE_PHONE_WIDGET = `
Microsoft.CIFramework.addHandler("onSessionClosed", async (data) => {
  log("closed " + JSON.parse(data).sessionId);
  await Microsoft.CIFramework.setMode(1);
  log("docked again");
});
window.addEventListener("CIFInitDone", async () => {
  await Microsoft.CIFramework.setMode(1);
  log("docked, mode " + (await Microsoft.CIFramework.getMode()));
});`;

test("the seed's single-telephony-provider pattern: docked in home at init, and again when its last session closes", async (t) => {
  const later = deferred(t);
  const cifd = await startCifd();
  later(() => cifd.stop());
  const phoneWidget = await cifWidgetServer("Phone", cifd, SINGLE_PHONE_WIDGET);
  later(() => phoneWidget.close());
  const phone = await createProvider(cifd, "contoso_phone", "Phone", phoneWidget.url);
  const agent = await createAgent(cifd, "Ada", [phone]);
  // The agent had minimised the panel.
  const { agent: agentOver } = await import("../../clients/typescript/dist/src/index.js");
  await agentOver(cifd.endpoint, agent.credential).setMode({ mode: PANEL.MINIMIZED, requestId: crypto.randomUUID() });

  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "cif-single-provider-docked"));
  assert.equal(await logged(page, phone, /^docked, mode/), "docked, mode 1");
  await panelIs(page, "docked");
  await widget(page, phone).waitFor({ state: "visible" });

  // A call: the agent minimises the panel, then closes the call; the widget's onSessionClosed
  // handler docks the panel again, in home.
  const call = await frameOf(page, phone)
    .locator("body")
    .evaluate(() => Microsoft.CIFramework.createSession({ templateName: "", templateParameters: {} }).catch((e) => e));
  assert.equal(call.reason, "FIELD_REQUIRED", "a session needs a template or a title; CIF's createSession gives a template");
  const sessionId = (await phone.client.createSession({ agentId: agent.id, title: "+1 555 0100" })).session.id;
  await session(page, sessionId).and(page.locator('[aria-selected="true"]')).waitFor();
  await page.getByLabel("Panel mode").selectOption({ label: "Minimized" });
  await panelIs(page, "minimized");
  await page.getByRole("button", { name: "Close +1 555 0100" }).click();
  await page.getByRole("button", { name: "Close", exact: true }).click();
  assert.equal(await logged(page, phone, /^closed /), `closed ${sessionId}`);
  await logged(page, phone, "docked again");
  await panelIs(page, "docked");
  await widget(page, phone).waitFor({ state: "visible" });
});

const CONSENT_WIDGET = `
window.addEventListener("CIFInitDone", () => log("ready"));
async function offer(customerName) {
  const answer = JSON.parse(await Microsoft.CIFramework.notifyEvent({
    templateName: "chat_consent",
    templateParameters: { customerName },
    cancellationToken: "conversation-" + customerName,
  }));
  log("outcome " + answer.value.actionName + "/" + answer.value.responseReason);
  if (answer.value.actionName === "Accept") {
    log("session " + (await Microsoft.CIFramework.createSession({ templateName: "chat_session", templateParameters: { customerName } })));
  }
}`;

async function chatTemplates(cifd) {
  await cifd.admin.createNotificationTemplate({
    notificationTemplate: {
      uniqueName: "chat_consent",
      displayName: "Chat request",
      title: "Chat with {customerName}?",
      fields: [{ label: "Customer", value: "{customerName}" }],
      countdownSeconds: 120,
      acceptText: "Take it",
    },
  });
  await cifd.admin.createSessionTemplate({
    sessionTemplate: { uniqueName: "chat_session", displayName: "Chat", title: "Chat with {customerName}" },
  });
}

test("requestFocusSession marks an unfocused session; notifyEvent as a consent toast, accepted in the page, then createSession", async (t) => {
  const later = deferred(t);
  const cifd = await startCifd();
  later(() => cifd.stop());
  await chatTemplates(cifd);
  const chatWidget = await cifWidgetServer("Chat", cifd, CONSENT_WIDGET);
  later(() => chatWidget.close());
  const chat = await createProvider(cifd, "contoso_chat", "Chat", chatWidget.url);
  const agent = await createAgent(cifd, "Ada", [chat]);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "cif-consent-toast"));
  await logged(page, chat, "ready");
  const chatFrame = frameOf(page, chat).locator("body");

  // Consent first: the toast shows in the page; the agent takes it; the widget's promise
  // resolves with CIF's result, and the widget starts the session.
  const offered = chatFrame.evaluate(() => offer("Maria"));
  const toast = page.getByRole("alert").filter({ hasText: "Chat with Maria?" });
  await toast.waitFor();
  await toast.getByRole("button", { name: "Take it" }).click();
  await offered;
  assert.equal(await logged(page, chat, /^outcome /), "outcome Accept/Accept");
  const sessionId = (await logged(page, chat, /^session /)).slice("session ".length);
  await session(page, sessionId).and(page.locator('[aria-selected="true"]')).waitFor();
  assert.match(await session(page, sessionId).innerText(), /Chat with Maria/);

  // The agent goes home; the widget asks for attention on its session: the mark shows.
  await page.getByRole("tab", { name: /^Home/ }).click();
  await page.getByRole("tab", { name: /^Home/ }).and(page.locator('[aria-selected="true"]')).waitFor();
  await chatFrame.evaluate((_, id) => Microsoft.CIFramework.requestFocusSession(id, 3), sessionId);
  await session(page, sessionId).getByText("! 3 messages").waitFor();
});

test("a widget credential renewed while notifyEvent waits: the outcome arrives once", async (t) => {
  const later = deferred(t);
  const cifd = await startCifd({ args: ["--widget-credential-lifetime", "2s"] });
  later(() => cifd.stop());
  await chatTemplates(cifd);
  const chatWidget = await cifWidgetServer("Chat", cifd, CONSENT_WIDGET);
  later(() => chatWidget.close());
  const chat = await createProvider(cifd, "contoso_chat", "Chat", chatWidget.url);
  const agent = await createAgent(cifd, "Ada", [chat]);

  const page = await browser.newPage();
  page.setDefaultTimeout(PATIENCE);
  let issued = 0;
  page.on("response", (response) => {
    if (response.url().endsWith("/cif.v1.AgentService/IssueWidgetCredential")) issued += 1;
  });
  await page.goto(`${cifd.endpoint}/desk/`);
  await page.getByLabel("Agent credential").fill(agent.credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
  later(() => keepScreenshot(page, "cif-renewed-while-waiting"));
  await logged(page, chat, "ready");
  const chatFrame = frameOf(page, chat).locator("body");

  const offered = chatFrame.evaluate(() => offer("Maria"));
  const toast = page.getByRole("alert").filter({ hasText: "Chat with Maria?" });
  await toast.waitFor();
  // The credential the call was made with is replaced (and the old one stops working).
  const before = issued;
  await page.waitForResponse((r) => r.url().endsWith("/cif.v1.AgentService/IssueWidgetCredential"));
  assert.ok(issued > before);
  await toast.getByRole("button", { name: "Take it" }).click();
  await offered;
  await logged(page, chat, /^session /);
  const outcomes = await frameOf(page, chat).getByRole("listitem", { includeHidden: true }).filter({ hasText: /^outcome / }).count();
  assert.equal(outcomes, 1, "the outcome arrived once");
});

const MODE_WIDGET = `
Microsoft.CIFramework.addHandler("onmodechanged", (data) => log("mode " + JSON.parse(data).value));
window.addEventListener("CIFInitDone", () => log("ready"));`;

test("across a cifd restart a widget's calls go on and its events are neither lost nor repeated", async (t) => {
  const later = deferred(t);
  const data = dataDirectory();
  let cifd = await startCifd({ dataDir: data.path });
  const phoneWidget = await cifWidgetServer("Phone", cifd, MODE_WIDGET);
  later(async () => {
    await cifd.stop();
    await phoneWidget.close();
    data.remove();
  });
  const phone = await createProvider(cifd, "contoso_phone", "Phone", phoneWidget.url);
  const agent = await createAgent(cifd, "Ada", [phone]);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "cif-restart"));
  await logged(page, phone, "ready");
  const modes = () =>
    frameOf(page, phone)
      .getByRole("listitem", { includeHidden: true })
      .filter({ hasText: /^mode / })
      .allTextContents();

  await page.getByLabel("Panel mode").selectOption({ label: "Minimized" });
  await logged(page, phone, "mode 0");

  // cifd stops and starts again on the same port and data; it forgot the widget credentials
  // (kept in memory only), so the desk issues new ones when the widget next calls.
  const address = cifd.address;
  await cifd.stop();
  await page.getByRole("status").filter({ hasText: "Reconnecting" }).waitFor();
  cifd = await startCifd({ dataDir: data.path, listen: address });
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
  const mode = await frameOf(page, phone).locator("body").evaluate(() => Microsoft.CIFramework.getMode());
  assert.equal(mode, 0, "minimized, read after the restart");
  await page.getByLabel("Panel mode").selectOption({ label: "Docked" });
  await logged(page, phone, "mode 1");
  assert.deepEqual(await modes(), ["mode 0", "mode 1"]);
});

test("the example widget (examples/cif-widget) runs as the README says: a call offered, accepted, its session opened", async (t) => {
  const later = deferred(t);
  const cifd = await startCifd();
  later(() => cifd.stop());
  const example = await exampleWidgetServer();
  later(() => example.close());
  await cifd.admin.createNotificationTemplate({
    notificationTemplate: {
      uniqueName: "example_incoming_call",
      displayName: "Incoming call",
      title: "Call from {caller}",
      fields: [{ label: "Caller", value: "{caller}" }],
    },
  });
  await cifd.admin.createSessionTemplate({
    sessionTemplate: { uniqueName: "example_call", displayName: "Call", title: "Call {caller}" },
  });
  const library = `${cifd.endpoint}/webresources/Widget/msdyn_ciLibrary.js`;
  const phone = await createProvider(cifd, "example_phone", "Phone", `${example.origin}/?ucilib=${encodeURIComponent(library)}`);
  const agent = await createAgent(cifd, "Ada", [phone]);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "cif-example-widget"));
  const frame = frameOf(page, phone);
  await frame.getByRole("status").filter({ hasText: "Ready as example_phone" }).waitFor();
  await logged(page, phone, "docked");

  await frame.getByRole("button", { name: "Simulate an incoming call" }).click();
  const toast = page.getByRole("alert").filter({ hasText: "Call from +1 555 0100" });
  await toast.waitFor();
  await toast.getByRole("button", { name: "Accept" }).click();
  assert.equal(await logged(page, phone, /^toast: /), "toast: Accept (Accept)");
  const sessionId = (await logged(page, phone, /^call session /)).slice("call session ".length);
  await session(page, sessionId).and(page.locator('[aria-selected="true"]')).waitFor();
  assert.match(await session(page, sessionId).innerText(), /Call \+1 555 0100/);
});
