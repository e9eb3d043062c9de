// The agent's desk, served by cifd at /desk/: sign-in with the agent's credential, then the
// desk followed live over grpc-web (AgentService.Subscribe): the session bar, the focused
// session's tabs, toasts, and the communication panel hosting every admitted provider's
// widget. One stream per page: over plain HTTP/1.1 a browser shares six connections per host.

import { h, fill, tablist } from "./dom.js";
import { DeskModel, MODES } from "./model.js";
import { WidgetFrames, websiteFrame } from "./frames.js";
import { WidgetHost } from "./cif/host.js";
import { Toasts, millis } from "./toasts.js";
import { Ownership } from "./ownership.js";
import {
  CifError,
  Code,
  PageKind,
  SessionKind,
  DeskView,
  agent,
  type AgentClient,
  type Notification,
  type Presence,
  type Session,
  type Subscription,
  type Tab,
} from "../../clients/typescript/src/web.js";

const CREDENTIAL = "cif.desk.credential";
const SIGNED_OUT_BECAUSE = "cif.desk.signedOutBecause";
const root = document.getElementById("desk") ?? document.body;

/** Starts the page: the desk if a credential is kept for this browser tab, else sign-in. */
function start(): void {
  const credential = sessionStorage.getItem(CREDENTIAL);
  if (credential) {
    void new DeskPage(credential).run();
  } else {
    signIn();
  }
}

function signIn(): void {
  const why = sessionStorage.getItem(SIGNED_OUT_BECAUSE);
  sessionStorage.removeItem(SIGNED_OUT_BECAUSE);
  const input = h("input", {
    id: "credential",
    name: "credential",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "sign-in-help",
  });
  const error = h("p", { class: "error", role: "alert" }, why ?? "");
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const credential = input.value.trim();
        void agent(location.origin, credential)
          .getDesk({})
          .then(() => {
            // Kept for this browser tab only, never in a URL.
            sessionStorage.setItem(CREDENTIAL, credential);
            start();
          })
          .catch((failure: unknown) => {
            error.textContent = describe(failure);
          });
      },
    },
    h("h1", {}, "Agent desk"),
    h("label", { for: "credential" }, "Agent credential"),
    input,
    h("p", { id: "sign-in-help", class: "help" }, "The credential your operator issued you (cifa_...)."),
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  fill(root, h("main", {}, form));
  input.focus();
}

function describe(failure: unknown): string {
  if (failure instanceof CifError) {
    if (failure.code === Code.Unauthenticated) return "That credential is not valid: check it, or ask your operator for a new one.";
    return `${failure.rawMessage} (${failure.reason ?? Code[failure.code]})`;
  }
  return failure instanceof Error ? failure.message : String(failure);
}

class DeskPage {
  private readonly client: AgentClient;
  private model: DeskModel | undefined;
  private subscription: Subscription | undefined;
  private readonly widgets = new WidgetFrames();
  /** CIF's widget API for the widgets in those frames (rule 21). */
  private readonly host: WidgetHost;
  private readonly toasts: Toasts;
  private ownership: Ownership | undefined;
  private presences: Presence[] = [];
  private readonly tabFrames = new Map<string, HTMLElement>();
  private confirmingClose: string | undefined;
  private readonly status = h("p", { class: "status", role: "status" }, "Connecting...");
  private readonly bar = h("nav", { class: "session-bar", "aria-label": "Sessions" });
  private readonly work = h("main", { class: "work" });
  private readonly workHead = h("div", { class: "work-head" });
  private readonly tabPanel = h("div", { role: "tabpanel", class: "tab-content" });
  /** What the tab panel shows now, so an unchanged frame is never reloaded. */
  private shownTab: string | undefined;
  private readonly panel = h("aside", { class: "panel", "aria-label": "Communication panel" });
  private readonly presence = h("select", { id: "presence", "aria-label": "Presence" });

  constructor(credential: string) {
    this.client = agent(location.origin, credential);
    this.toasts = new Toasts((toast, accept) => this.respond(toast, accept));
    this.host = new WidgetHost(
      this.client,
      () => ({ agentId: this.model?.desk.agentId ?? "", focusedSessionId: this.model?.desk.focusedSessionId ?? "" }),
      (id) => this.widgets.frame(id),
    );
  }

  async run(): Promise<void> {
    fill(
      root,
      h(
        "header",
        { class: "top" },
        h("h1", {}, "Agent desk"),
        h("label", { for: "presence" }, "Presence"),
        this.presence,
        this.status,
        h("button", { type: "button", class: "sign-out", onclick: () => this.signOut() }, "Sign out"),
      ),
      this.bar,
      h("div", { class: "body" }, this.work, this.panel),
      this.toasts.element,
    );
    fill(this.work, this.workHead, this.tabPanel);
    this.presence.addEventListener("change", () => {
      void this.call(this.client.setPresence({ presenceId: this.presence.value }));
    });
    void this.client.listPresences({}).then((answer) => {
      this.presences = answer.presences;
      this.render();
    }, () => {});
    this.subscription = this.client.subscription(true);
    this.subscription.onStatus = (status) => {
      this.status.textContent = status === "live" ? "Live" : "Reconnecting...";
      this.status.dataset.status = status;
    };
    try {
      for await (const update of this.subscription) {
        if (update.kind === "snapshot") {
          this.model = DeskModel.fromSnapshot(update.items);
          this.ownership ??= new Ownership(this.model.desk.agentId, () => this.render());
          this.status.textContent = "Live";
          this.status.dataset.status = "live";
        } else if (update.kind === "event" && this.model) {
          const serverTime = millis(update.event.time);
          this.toasts.heardAt(serverTime);
          const effects = this.model.apply(update.event);
          if (update.event.kind.case === "notificationShown" && update.event.kind.value.notification) {
            this.toasts.shown(update.event.kind.value.notification, serverTime);
          }
          for (const tab of effects.refreshed) this.reload(tab);
          if (update.widgets) this.host.deliver(update.widgets);
        } else {
          continue;
        }
        root.dataset.sequence = update.sequence.toString();
        this.render();
      }
    } catch (failure) {
      this.signOut(
        failure instanceof CifError && failure.code === Code.Unauthenticated
          ? "You were signed out: your credential was revoked or replaced. Sign in with the new one."
          : `The desk stopped: ${describe(failure)}`,
      );
    }
  }

  private signOut(because?: string): void {
    void this.host.signOut();
    this.subscription?.close();
    this.ownership?.close();
    sessionStorage.removeItem(CREDENTIAL);
    if (because) sessionStorage.setItem(SIGNED_OUT_BECAUSE, because);
    signIn();
  }

  /** Makes a call, showing its refusal if any. */
  private async call(answer: Promise<unknown>): Promise<void> {
    try {
      await answer;
    } catch (failure) {
      this.status.textContent = `Refused: ${describe(failure)}`;
    }
  }

  private respond(toast: Notification, accept: boolean): void {
    void this.call(
      this.client.respondToNotification({
        providerId: toast.providerId,
        notificationId: toast.notificationId,
        accept,
        requestId: crypto.randomUUID(),
      }),
    );
  }

  private reload(tabId: string): void {
    const frame = this.tabFrames.get(tabId)?.querySelector("iframe");
    if (frame) frame.src = frame.src;
  }

  private render(): void {
    const model = this.model;
    if (!model) return;
    this.renderPresence();
    this.renderBar(model);
    this.renderWork(model);
    this.renderPanel(model);
    this.toasts.render(model.toasts());
  }

  private renderPresence(): void {
    const current = this.model?.desk.presence?.presenceId ?? "";
    fill(
      this.presence,
      h("option", { value: "", disabled: true, selected: current === "" }, "Not set"),
      this.presences.map((presence) =>
        h("option", { value: presence.presenceId, selected: presence.presenceId === current }, presence.text),
      ),
    );
  }

  private renderBar(model: DeskModel): void {
    const list = tablist("Sessions", model.sessions().map((session) => this.sessionTab(model, session)));
    keepingFocus(this.bar, () => fill(this.bar, list));
  }

  private sessionTab(model: DeskModel, session: Session): HTMLElement {
    const marks = session.marks;
    const focused = session.id === model.desk.focusedSessionId;
    const notAdmitted = session.owner?.providerNotAdmitted ?? false;
    const badges = [
      marks?.attentionRequested &&
        h("span", { class: "badge attention", title: "Asks for attention" }, `! ${marks.messagesCount} messages`),
      marks?.newActivity && h("span", { class: "badge activity" }, `${marks.newActivityCount} new`),
      marks?.kpiBreached && h("span", { class: "badge kpi", title: marks.kpiDetails }, "KPI"),
      notAdmitted && h("span", { class: "badge not-admitted" }, "provider no longer admitted"),
    ];
    const owner = model.ownerLabel(session);
    return h(
      "button",
      {
        type: "button",
        role: "tab",
        class: "session",
        "aria-selected": focused ? "true" : "false",
        "data-session-id": session.id,
        onclick: () => {
          if (!focused) void this.call(this.client.switchSession({ sessionId: session.id, requestId: crypto.randomUUID(), view: DeskView.BASIC }));
        },
      },
      h("span", { class: "owner" }, owner),
      session.kind === SessionKind.HOME ? null : h("span", { class: "title" }, session.title),
      badges,
    );
  }

  /** The focused session's close control (home cannot be closed); closing asks to confirm. */
  private closeControl(session: Session): HTMLElement | null {
    if (session.kind === SessionKind.HOME) return null;
    if (this.confirmingClose === session.id) {
      return h(
        "span",
        { class: "confirm", role: "group", "aria-label": "Close this session?" },
        "Close this session? ",
        h("button", { type: "button", class: "confirm-close", onclick: () => this.closeSession(session.id) }, "Close"),
        h("button", { type: "button", class: "keep", onclick: () => { this.confirmingClose = undefined; this.render(); } }, "Keep"),
      );
    }
    return h(
      "button",
      {
        type: "button",
        class: "close-session",
        onclick: () => {
          this.confirmingClose = session.id;
          this.render();
        },
      },
      `Close ${session.title}`,
    );
  }

  private closeSession(sessionId: string): void {
    this.confirmingClose = undefined;
    void this.call(this.client.closeSession({ sessionId, requestId: crypto.randomUUID(), view: DeskView.BASIC }));
  }

  private renderWork(model: DeskModel): void {
    const open = new Set(model.sessions().flatMap((s) => s.tabs.map((tab) => tab.id)));
    for (const id of this.tabFrames.keys()) if (!open.has(id)) this.tabFrames.delete(id);
    const session = model.focused();
    if (!session) return;
    const tabs = tablist(
      "Tabs",
      session.tabs.map((tab) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            "aria-selected": tab.focused ? "true" : "false",
            "data-tab-id": tab.id,
            onclick: () => void this.call(this.client.focusTab({ tabId: tab.id, requestId: crypto.randomUUID() })),
          },
          tab.title,
        ),
      ),
    );
    const heading = session.kind === SessionKind.HOME ? "Home" : `${session.title} (${model.ownerLabel(session)})`;
    const focusedTab = session.tabs.find((tab) => tab.focused);
    const closeTab =
      focusedTab?.canClose &&
      h(
        "button",
        {
          type: "button",
          class: "close-tab",
          onclick: () => void this.call(this.client.closeTab({ tabId: focusedTab.id, requestId: crypto.randomUUID() })),
        },
        `Close tab ${focusedTab.title}`,
      );
    keepingFocus(this.workHead, () =>
      fill(
        this.workHead,
        h("div", { class: "session-heading" }, h("h2", {}, heading), this.closeControl(session)),
        h("div", { class: "tabs-row" }, tabs, closeTab),
      ),
    );
    const shown = focusedTab ? `${focusedTab.id} ${focusedTab.title} ${focusedTab.page?.url ?? ""}` : `none ${session.id}`;
    if (shown !== this.shownTab) {
      this.shownTab = shown;
      fill(this.tabPanel, focusedTab ? this.tabContent(focusedTab) : h("p", {}, "No tab open."));
    }
  }

  private tabContent(tab: Tab): HTMLElement {
    const page = tab.page;
    if (page?.kind === PageKind.THIRD_PARTY_WEBSITE) {
      let frame = this.tabFrames.get(tab.id);
      if (!frame) {
        frame = websiteFrame(tab.id, tab.title, page.url);
        this.tabFrames.set(tab.id, frame);
      }
      return frame;
    }
    const kind = page ? PageKind[page.kind].toLowerCase().replaceAll("_", " ") : "page";
    return h("p", { class: "page" }, `A ${kind}${page?.url ? `: ${page.url}` : ""}${page?.parameters ? ` (${page.parameters})` : ""}`);
  }

  private renderPanel(model: DeskModel): void {
    const desk = model.desk;
    const providers = model.widgets?.providers ?? [];
    const visible = model.widgets?.visibleProviderId ?? "";
    const active = this.ownership?.active ?? false;
    this.widgets.update(providers, visible, active);
    this.host.update(active ? providers : []);
    const mode = h(
      "select",
      { id: "panel-mode", "aria-label": "Panel mode" },
      MODES.map(([value, name]) => h("option", { value: String(value), selected: desk.panelMode === value }, name)),
    );
    mode.addEventListener("change", () => {
      void this.call(this.client.setMode({ mode: Number(mode.value), requestId: crypto.randomUUID() }));
    });
    const width = h("input", {
      id: "panel-width",
      type: "number",
      min: 300,
      step: 10,
      value: desk.panelWidth,
      "aria-label": "Panel width in pixels",
    });
    width.addEventListener("change", () => {
      void this.call(this.client.setWidth({ width: Number(width.value), requestId: crypto.randomUUID() }));
    });
    const modeName = MODES.find(([value]) => value === desk.panelMode)?.[1] ?? "Docked";
    this.panel.dataset.mode = modeName.toLowerCase();
    this.panel.style.width = modeName === "Docked" ? `${desk.panelWidth}px` : "";
    this.panel.dataset.visibleProvider = visible;
    const takeOver = !active &&
      h(
        "p",
        { class: "elsewhere" },
        "Widgets run in another browser tab of this desk. ",
        h("button", { type: "button", class: "take-over", onclick: () => this.ownership?.claim() }, "Run them here"),
      );
    const controls = h("div", { class: "panel-controls" }, mode, width);
    const none = visible === "" && h("p", { class: "no-widget" }, providers.length > 1 ? "No widget in home with several providers." : "No widget.");
    if (!this.panel.contains(this.widgets.element)) {
      fill(this.panel, controls, takeOver, none, this.widgets.element);
    } else {
      this.panel.querySelector(".panel-controls")?.replaceWith(controls);
      this.panel.querySelector(".elsewhere")?.remove();
      this.panel.querySelector(".no-widget")?.remove();
      if (takeOver) this.panel.insertBefore(takeOver, this.widgets.element);
      if (none) this.panel.insertBefore(none, this.widgets.element);
    }
  }
}

/**
 * Re-renders a part of the page and gives keyboard focus back to the control that had it
 * (found again by its data attributes), so live updates never throw a keyboard user out.
 */
function keepingFocus(part: HTMLElement, render: () => void): void {
  const active = document.activeElement;
  const had = active instanceof HTMLElement && part.contains(active) ? focusKey(active) : undefined;
  render();
  if (had) {
    const again = [...part.querySelectorAll<HTMLElement>("button, select, input")].find((e) => focusKey(e) === had);
    again?.focus();
  }
}

function focusKey(element: HTMLElement): string {
  return [element.className, element.dataset.sessionId, element.dataset.tabId, element.getAttribute("aria-label")].join("|");
}

start();
