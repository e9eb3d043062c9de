// The agent desk in Chromium: sessions, toasts and widgets as two providers (the TypeScript
// client over gRPC) act on one agent's desk, and the agent acts in the page.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import {
  PATIENCE,
  caughtUp,
  createAgent,
  dataDirectory,
  deferred,
  createProvider,
  keepScreenshot,
  launchBrowser,
  signIn,
  startCifd,
  toastId,
  widgetServer,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * A cifd with two providers (each with its own widget page) and one agent admitting both, or
 * those `admitted` picks.
 */
async function twoProviders(later, admitted = (chat, phone) => [chat, phone]) {
  const cifd = await startCifd();
  const chatWidget = await widgetServer("Chat");
  const phoneWidget = await widgetServer("Phone");
  later(async () => {
    await cifd.stop();
    await chatWidget.close();
    await phoneWidget.close();
  });
  const chat = await createProvider(cifd, "contoso_chat", "Chat", chatWidget.url);
  const phone = await createProvider(cifd, "contoso_phone", "Phone", phoneWidget.url);
  const agent = await createAgent(cifd, "Ada", admitted(chat, phone));
  return { cifd, chat, phone, agent };
}

const OUTCOME = { ACCEPTED: 1, DECLINED: 3, DISPLAY_TIMEOUT: 4 };
const PANEL = { MINIMIZED: 1, DOCKED: 2 };

const widget = (page, provider) => page.locator(`section.widget[data-provider-id="${provider.id}"]`);
const session = (page, id) => page.locator(`button[role="tab"][data-session-id="${id}"]`);

test("a toast accepted in the page becomes the provider's session, and its widget shows", async (t) => {
  const later = deferred(t);
  const { cifd, chat, phone, agent } = await twoProviders(later);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "toast-accepted-session-and-widgets"));

  // Home with two providers: both widgets loaded, neither shown.
  await widget(page, chat).waitFor({ state: "attached" });
  await widget(page, phone).waitFor({ state: "attached" });
  assert.equal(await widget(page, chat).isVisible(), false);
  assert.equal(await widget(page, phone).isVisible(), false);
  await page.getByText("No widget in home with several providers.").waitFor();

  // Chat offers a conversation; the page shows the toast with its countdown.
  const offered = chat.client.notifyEvent({
    agentId: agent.id,
    notificationId: toastId(1),
    title: "Incoming chat",
    fields: [{ label: "Customer", value: "Maria Garcia" }],
    countdownSeconds: 60,
    acceptText: "Take it",
  });
  const toast = page.getByRole("alert").filter({ hasText: "Incoming chat" });
  await toast.waitFor();
  await toast.getByText("Maria Garcia").waitFor();
  assert.match(await toast.locator(".countdown").innerText(), /^(59|60) s left$/);
  await toast.getByRole("button", { name: "Take it" }).click();
  const answer = await offered;
  assert.equal(answer.result.notificationId, toastId(1));
  assert.equal(answer.result.outcome, 1 /* ACCEPTED */);
  await toast.waitFor({ state: "detached" });

  // Chat starts the conversation: focused in the page, with chat's label and widget.
  const chats = (await chat.client.createSession({ agentId: agent.id, title: "Maria Garcia" })).session.id;
  await session(page, chats).and(page.locator('[aria-selected="true"]')).waitFor();
  assert.match(await session(page, chats).innerText(), /Chat/);
  await widget(page, chat).waitFor({ state: "visible" });
  assert.equal(await widget(page, phone).isVisible(), false);
  assert.equal(
    await widget(page, chat).locator("iframe").contentFrame().getByRole("heading").innerText(),
    "Chat widget",
  );

  // Phone starts a call: its session takes focus, and its widget shows instead.
  const calls = (await phone.client.createSession({ agentId: agent.id, title: "+1 555 0100" })).session.id;
  await session(page, calls).and(page.locator('[aria-selected="true"]')).waitFor();
  await widget(page, phone).waitFor({ state: "visible" });
  await widget(page, chat).waitFor({ state: "hidden" });
});

test("attention marks, the agent's switch and close, as the providers hear them", async (t) => {
  const later = deferred(t);
  const { cifd, chat, phone, agent } = await twoProviders(later);
  const chats = (await chat.client.createSession({ agentId: agent.id, title: "Maria Garcia" })).session.id;
  const calls = (await phone.client.createSession({ agentId: agent.id, title: "+1 555 0100" })).session.id;
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "attention-switch-close"));
  const chatEvents = await caughtUp(chat.client.subscription());
  const phoneEvents = await caughtUp(phone.client.subscription());
  later(() => {
    chatEvents.close();
    phoneEvents.close();
  });
  const next = async (subscription, wanted) => {
    const deadline = Date.now() + PATIENCE;
    for await (const update of subscription) {
      if (update.kind === "event" && wanted(update.event)) return update.event;
      assert.ok(Date.now() < deadline, "the event came in time");
    }
  };

  // The agent goes home; chat asks for attention with 3 messages.
  await page.getByRole("tab", { name: /^Home/ }).click();
  await page.getByRole("tab", { name: /^Home/ }).and(page.locator('[aria-selected="true"]')).waitFor();
  await chat.client.requestFocusSession({ sessionId: chats, messagesCount: 3 });
  await session(page, chats).getByText("! 3 messages").waitFor();

  // The agent switches to it with the keyboard (only the selected tab is in the Tab order;
  // an arrow key moves, Enter switches): the mark clears, and chat hears it has focus.
  const home = page.getByRole("tab", { name: /^Home/ });
  assert.equal(await home.getAttribute("tabindex"), "0");
  assert.equal(await session(page, chats).getAttribute("tabindex"), "-1");
  await home.focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.sessionId), chats);
  await page.keyboard.press("Enter");
  const focused = await next(chatEvents, (event) => event.kind.case === "sessionSwitched" && event.kind.value.focused);
  assert.equal(focused.kind.value.session.id, chats);
  await session(page, chats).getByText("! 3 messages").waitFor({ state: "detached" });

  // The agent goes to phone's session and closes it, after confirming; phone hears it.
  await session(page, calls).click();
  await page.getByRole("button", { name: "Close +1 555 0100" }).click();
  await page.getByRole("group", { name: "Close this session?" }).getByRole("button", { name: "Close" }).click();
  const closed = await next(phoneEvents, (event) => event.kind.case === "sessionClosed");
  assert.equal(closed.kind.value.session.id, calls);
  await session(page, calls).waitFor({ state: "detached" });
});

test("one provider's widget shows in home; the panel follows the agent and the provider", async (t) => {
  const later = deferred(t);
  const { cifd, chat, phone, agent } = await twoProviders(later, (_, phone) => [phone]);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "one-provider-panel"));
  const panel = page.getByRole("complementary", { name: "Communication panel" });

  // Home with a single provider: its widget shows (a dialer in home).
  await widget(page, phone).waitFor({ state: "visible" });
  await page.waitForFunction(() => document.querySelector(".panel")?.getAttribute("data-mode") === "docked");

  // The agent minimises the panel; the provider docks it again, and the page shows it.
  await page.getByLabel("Panel mode").selectOption({ label: "Minimized" });
  await page.waitForFunction(() => document.querySelector(".panel")?.getAttribute("data-mode") === "minimized");
  assert.equal((await phone.client.getMode({ agentId: agent.id })).mode, PANEL.MINIMIZED);
  await phone.client.setMode({ agentId: agent.id, mode: PANEL.DOCKED });
  await page.waitForFunction(() => document.querySelector(".panel")?.getAttribute("data-mode") === "docked");
  assert.ok((await panel.boundingBox()).width >= 300, "docked at its width");

  // A second provider in the profile: in home, no widget shows any more.
  await cifd.admin.updateAgent({
    agent: { id: agent.id, providerIds: [phone.id, chat.id] },
    updateMask: { paths: ["provider_ids"] },
  });
  await widget(page, chat).waitFor({ state: "attached" });
  await widget(page, phone).waitFor({ state: "hidden" });
  assert.equal(await widget(page, chat).isVisible(), false);
});

test("a declined toast, a toast that times out, and a queue of three", async (t) => {
  const later = deferred(t);
  const { cifd, chat, agent } = await twoProviders(later);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "toasts"));
  const toast = (title) => page.getByRole("alert").filter({ hasText: title });
  const raise = (n, title, extra = {}) =>
    chat.client.notifyEvent({ agentId: agent.id, notificationId: toastId(n), title, countdownSeconds: 60, ...extra });

  // Declined in the page: the provider hears DECLINED.
  const declined = raise(1, "Transfer from Bob", { showReject: true, rejectText: "Not now" });
  await toast("Transfer from Bob").getByRole("button", { name: "Not now" }).click();
  assert.equal((await declined).result.outcome, OUTCOME.DECLINED);
  await toast("Transfer from Bob").waitFor({ state: "detached" });

  // Nobody answers: it times out on screen, and leaves the page.
  const ignored = raise(2, "Missed call", { countdownSeconds: 2 });
  await toast("Missed call").waitFor();
  assert.equal((await ignored).result.outcome, OUTCOME.DISPLAY_TIMEOUT);
  await toast("Missed call").waitFor({ state: "detached" });

  // Three: one on screen, two waiting behind it, in the order they came.
  const first = raise(3, "First caller");
  await toast("First caller").waitFor();
  const second = raise(4, "Second caller");
  await toast("First caller").getByText("1 more waiting").waitFor();
  const third = raise(5, "Third caller");
  await toast("First caller").getByText("2 more waiting").waitFor();
  await toast("First caller").getByRole("button", { name: "Accept" }).click();
  assert.equal((await first).result.outcome, OUTCOME.ACCEPTED);
  await toast("Second caller").getByText("1 more waiting").waitFor();
  await toast("Second caller").getByRole("button", { name: "Accept" }).click();
  await toast("Third caller").waitFor();
  assert.equal(await page.getByText("more waiting").count(), 0);
  await toast("Third caller").getByRole("button", { name: "Accept" }).click();
  assert.equal((await second).result.outcome, OUTCOME.ACCEPTED);
  assert.equal((await third).result.outcome, OUTCOME.ACCEPTED);
});

/** What the page shows of the desk: the session bar's sessions and the focused one's tabs. */
async function shown(page) {
  return page.evaluate(() => ({
    sessions: [...document.querySelectorAll('.session-bar button[role="tab"]')].map((button) => ({
      id: button.getAttribute("data-session-id"),
      title: button.querySelector(".title")?.textContent ?? "Home",
      focused: button.getAttribute("aria-selected") === "true",
    })),
    tabs: [...document.querySelectorAll('.work button[role="tab"]')].map((button) => button.textContent),
  }));
}

/** The same, from GetDesk. */
function expected(desk) {
  const sessions = [desk.homeSession, ...desk.sessions];
  const focused = sessions.find((s) => s.id === desk.focusedSessionId);
  return {
    sessions: sessions.map((s, index) => ({
      id: s.id,
      title: index === 0 ? "Home" : s.title,
      focused: s.id === desk.focusedSessionId,
    })),
    tabs: focused.tabs.map((tab) => tab.title),
  };
}

test("a reload in the middle of a stream of events, then a cifd restart: the page ends as GetDesk", async (t) => {
  const later = deferred(t);
  const data = dataDirectory();
  let cifd = await startCifd({ dataDir: data.path });
  const widgetPage = await widgetServer("Chat");
  later(async () => {
    await cifd.stop();
    await widgetPage.close();
    data.remove();
  });
  const chat = await createProvider(cifd, "contoso_chat", "Chat", widgetPage.url);
  const agent = await createAgent(cifd, "Ada", [chat]);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "reload-and-restart"));

  // A stream of changes, with a reload in the middle of it.
  const sessions = [];
  const changes = (async () => {
    for (let n = 0; n < 40; n++) {
      if (n % 10 === 0) {
        sessions.push((await chat.client.createSession({ agentId: agent.id, title: `Chat ${n}` })).session.id);
      } else {
        const sessionId = sessions[sessions.length - 1];
        await chat.client.createTab({ sessionId, title: `Tab ${n}`, page: { kind: 1 /* DASHBOARD */ } });
      }
    }
  })();
  await page.waitForFunction(() => document.querySelectorAll('.session-bar button[role="tab"]').length >= 2);
  await page.reload();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
  await changes;

  // The server stops and starts again on the same port and data: the page reconnects and
  // resumes, losing and repeating nothing.
  const address = cifd.address;
  await cifd.stop();
  await page.getByRole("status").filter({ hasText: "Reconnecting" }).waitFor();
  cifd = await startCifd({ dataDir: data.path, listen: address });
  await chat.client.setSessionTitle({ sessionId: sessions[0], title: "After the restart" });
  const client = (await import("../../clients/typescript/dist/src/index.js")).agent(cifd.endpoint, agent.credential);
  const read = await client.getDesk({});
  await page.waitForFunction(
    (sequence) => BigInt(document.getElementById("desk")?.dataset.sequence ?? "0") >= BigInt(sequence),
    read.sequence.toString(),
  );
  assert.deepEqual(await shown(page), expected(read.desk));
});

test("no serious accessibility violations (axe-core) on the signed-in desk", async (t) => {
  const later = deferred(t);
  const { cifd, chat, agent } = await twoProviders(later);
  const chats = (await chat.client.createSession({ agentId: agent.id, title: "Maria Garcia" })).session.id;
  await chat.client.createTab({ sessionId: chats, title: "Customer", page: { kind: 1 /* DASHBOARD */ } });
  // The desk's policy allows its own scripts only; this context lets the test inject axe.
  const context = await browser.newContext({ bypassCSP: true });
  later(() => context.close());
  const page = await signIn(context, cifd, agent.credential);
  const offered = chat.client.notifyEvent({ agentId: agent.id, notificationId: toastId(9), title: "Incoming chat", countdownSeconds: 60 });
  await page.getByRole("alert").filter({ hasText: "Incoming chat" }).waitFor();
  const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(axe);
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
  );
  await keepScreenshot(page, "accessibility");
  await page.getByRole("alert").getByRole("button", { name: "Accept" }).click();
  await offered;
});

test("a replaced agent credential sends the page back to sign-in, saying why", async (t) => {
  const later = deferred(t);
  const { cifd, agent } = await twoProviders(later);
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "credential-replaced"));
  await cifd.admin.rotateAgentCredential({ agentId: agent.id });
  await page.getByRole("alert").filter({ hasText: "your credential was revoked or replaced" }).waitFor();
  await page.getByLabel("Agent credential").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("cif.desk.credential")), null);
});

test("the same agent in two browser tabs: one desk in both, widgets in the newest only", async (t) => {
  const later = deferred(t);
  const { cifd, chat, agent } = await twoProviders(later);
  const chats = (await chat.client.createSession({ agentId: agent.id, title: "Maria Garcia" })).session.id;
  // Two tabs of one browser share its origin's channels; session storage is per tab.
  const context = await browser.newContext();
  later(() => context.close());
  const open = () => signIn(context, cifd, agent.credential);
  const first = await open();
  await widget(first, chat).waitFor({ state: "visible" });
  const second = await open();
  later(() => keepScreenshot(first, "two-tabs-older"));
  await widget(second, chat).waitFor({ state: "visible" });
  // The older tab unloads its widgets and offers to take them back.
  await widget(first, chat).waitFor({ state: "detached" });
  await first.getByRole("button", { name: "Run them here" }).waitFor();
  // Both show the same desk as it changes.
  await chat.client.setSessionTitle({ sessionId: chats, title: "Maria Garcia (VIP)" });
  for (const page of [first, second]) await session(page, chats).getByText("Maria Garcia (VIP)").waitFor();
  // Taken over: the first runs them again, the second lets go.
  await first.getByRole("button", { name: "Run them here" }).click();
  await widget(first, chat).waitFor({ state: "visible" });
  await widget(second, chat).waitFor({ state: "detached" });
});

test("RefreshTab reloads the tab's frame", async (t) => {
  const later = deferred(t);
  const { cifd, chat, agent } = await twoProviders(later);
  const site = await widgetServer("Customer record");
  later(() => site.close());
  const chats = (await chat.client.createSession({ agentId: agent.id, title: "Maria Garcia" })).session.id;
  const tab = (
    await chat.client.createTab({
      sessionId: chats,
      title: "Customer",
      page: { kind: 5 /* THIRD_PARTY_WEBSITE */, url: site.url },
      focus: true,
    })
  ).tab.id;
  const page = await signIn(browser, cifd, agent.credential);
  later(() => keepScreenshot(page, "refresh-tab"));
  const frame = page.locator(`iframe[data-tab-id="${tab}"]`);
  await frame.contentFrame().getByRole("heading", { name: "Customer record widget" }).waitFor();
  // Mark the loaded document; a reload replaces it.
  await frame.contentFrame().locator("body").evaluate((body) => body.setAttribute("data-marked", "yes"));
  await chat.client.refreshTab({ tabId: tab });
  await frame.contentFrame().locator('body[data-marked="yes"]').waitFor({ state: "detached" });
  await frame.contentFrame().getByRole("heading", { name: "Customer record widget" }).waitFor();
});
