// The desk's side of CIF 2.0's widget API (rule 21). Each admitted provider's widget frame
// talks to the desk by postMessage (see protocol.ts); the desk knows the caller by the frame it
// made for that provider and the frame's origin, makes the call to cifd with that provider's
// widget credential (which never leaves this page), and answers in CIF's shapes. Events come
// from the desk's own stream, already decided per provider by the server.

import {
  CifError,
  Code,
  PanelMode,
  PresenceStatus,
  provider as providerOver,
  type AgentClient,
  type DeskProvider,
  type Event,
  type NotificationResult,
  type ProviderClient,
  type WidgetDelivery,
} from "../../../clients/typescript/src/web.js";
import { millis } from "../toasts.js";
import type { Answer, DeskMessage, DeskMethod, WidgetMessage } from "./protocol.js";

/** A provider's widget as the desk hosts it. */
interface Hosted {
  provider: DeskProvider;
  client: ProviderClient;
  renewal: number;
}

/** What a CIF call runs with: the widget's provider client, the agent it acts for, and the
 * desk's state and toasts it needs. */
interface CallContext {
  client: ProviderClient;
  agentId: string;
  providerId: string;
  focusedSessionId: () => string;
  /** notifyEvent's result: resolved once, when the toast ends (heard on the desk's stream). */
  toastOutcome: (notificationId: string) => Promise<string>;
  toastEnded: (result: NotificationResult) => void;
}

/** Where the desk is now, as CIF's calls on "the focused session" need it. */
export interface DeskNow {
  agentId: string;
  focusedSessionId: string;
}

type Method = (context: CallContext, args: unknown[]) => Promise<unknown>;

export class WidgetHost {
  private readonly hosted = new Map<string, Hosted>();
  private providers: DeskProvider[] = [];
  /** notifyEvent calls waiting for their toast's outcome, by provider and notification id. */
  private readonly toasts = new Map<string, { outcome: Promise<string>; end: (result: NotificationResult) => void }>();

  constructor(
    private readonly agent: AgentClient,
    private readonly desk: () => DeskNow,
    private readonly frameOf: (providerId: string) => HTMLIFrameElement | undefined,
  ) {
    window.addEventListener("message", (event) => void this.received(event));
  }

  /** The desk's providers now: widgets of providers no longer admitted lose their credential. */
  update(providers: DeskProvider[]): void {
    this.providers = providers;
    for (const id of [...this.hosted.keys()]) {
      if (!providers.some((provider) => provider.providerId === id)) this.forget(id);
    }
  }

  /** Passes an event from the desk's stream to the widgets the server named. */
  deliver(delivery: WidgetDelivery): void {
    if (!delivery.event) return;
    for (const providerId of delivery.providerIds) {
      if (!this.hosted.has(providerId)) continue;
      if (delivery.event.kind.case === "notificationResolved" && delivery.event.kind.value.result) {
        this.toastEnded(providerId, delivery.event.kind.value.result);
      }
      for (const [name, data] of cifEvents(delivery.event)) this.post(providerId, { cif: "event", name, data });
    }
  }

  /** Signing out: every widget credential of this desk stops working at once. */
  async signOut(): Promise<void> {
    for (const id of [...this.hosted.keys()]) this.forget(id);
    await this.agent.revokeWidgetCredentials({}).catch(() => {});
  }

  private forget(providerId: string): void {
    window.clearTimeout(this.hosted.get(providerId)?.renewal);
    this.hosted.delete(providerId);
  }

  /** The provider whose frame sent `event`, if the frame is the one the desk made for it
   * and the message comes from that provider's origin. */
  private sender(event: MessageEvent): DeskProvider | undefined {
    const provider = this.providers.find((p) => {
      const frame = this.frameOf(p.providerId);
      return frame !== undefined && frame.contentWindow === event.source;
    });
    if (!provider) return undefined;
    const allowed = [provider.channelUrl, provider.trustedDomain].flatMap((url) => {
      try {
        return url ? [new URL(url).origin] : [];
      } catch {
        return [];
      }
    });
    return allowed.includes(event.origin) ? provider : undefined;
  }

  private async received(event: MessageEvent): Promise<void> {
    const provider = this.sender(event);
    const message = event.data as WidgetMessage | undefined;
    if (!provider || !message || typeof message !== "object") return;
    if (message.cif === "hello") {
      // Without a credential the widget is not ready: CIFInitDone waits (the widget may say
      // hello again, e.g. when reloaded).
      const hosted = await this.host(provider).catch((failure: unknown) => {
        console.warn(`cannot host ${provider.label}'s widget:`, failure);
        return undefined;
      });
      if (hosted) this.post(provider.providerId, { cif: "ready" });
    } else if (message.cif === "call" && typeof message.id === "number" && Array.isArray(message.args)) {
      const answer: Answer = { cif: "answer", id: message.id };
      try {
        const hosted = this.hosted.get(provider.providerId) ?? (await this.host(provider));
        answer.result = await run(message.method, this.context(provider.providerId, hosted), message.args).catch(
          async (failure: unknown) => {
            // A widget credential cifd no longer knows (it restarted, and keeps them in
            // memory only): issue a new one and call again, once.
            if (!(failure instanceof CifError && failure.code === Code.Unauthenticated)) throw failure;
            const renewed = await this.host(provider);
            return run(message.method, this.context(provider.providerId, renewed), message.args);
          },
        );
      } catch (failure) {
        answer.error = refusal(failure);
      }
      this.post(provider.providerId, answer);
    }
  }

  private context(providerId: string, hosted: Hosted): CallContext {
    const desk = this.desk();
    return {
      client: hosted.client,
      agentId: desk.agentId,
      providerId,
      focusedSessionId: () => this.desk().focusedSessionId,
      toastOutcome: (notificationId) => this.toastOutcome(providerId, notificationId),
      toastEnded: (result) => this.toastEnded(providerId, result),
    };
  }

  private toastOutcome(providerId: string, notificationId: string): Promise<string> {
    const key = `${providerId}/${notificationId}`;
    let waiting = this.toasts.get(key);
    if (!waiting) {
      let end: (result: NotificationResult) => void = () => {};
      const outcome = new Promise<string>((resolve) => {
        end = (result) => resolve(cifOutcome(result));
      });
      waiting = { outcome, end };
      this.toasts.set(key, waiting);
    }
    return waiting.outcome;
  }

  private toastEnded(providerId: string, result: NotificationResult): void {
    const key = `${providerId}/${result.notificationId}`;
    this.toasts.get(key)?.end(result);
    this.toasts.delete(key);
  }

  /** Issues the widget's credential, and renews it before it expires while the widget stays. */
  private async host(provider: DeskProvider): Promise<Hosted> {
    const issued = await this.agent.issueWidgetCredential({ providerId: provider.providerId });
    window.clearTimeout(this.hosted.get(provider.providerId)?.renewal);
    const lifetime = (millis(issued.expireTime) ?? Date.now()) - Date.now();
    const hosted: Hosted = {
      provider,
      client: providerOver(location.origin, issued.credential),
      renewal: window.setTimeout(() => {
        if (this.hosted.get(provider.providerId) === hosted) void this.host(provider).catch(() => {});
      }, Math.max(1000, lifetime * 0.8)),
    };
    this.hosted.set(provider.providerId, hosted);
    return hosted;
  }

  private post(providerId: string, message: DeskMessage): void {
    const frame = this.frameOf(providerId);
    const provider = this.providers.find((p) => p.providerId === providerId);
    if (!frame?.contentWindow || !provider) return;
    // Only to the provider's own origin: if the frame navigated elsewhere, nothing is sent.
    frame.contentWindow.postMessage(message, new URL(provider.channelUrl).origin);
  }
}

/** A refusal in CIF's error shape: the message, the gRPC code and cifd's reason. */
function refusal(failure: unknown): NonNullable<Answer["error"]> {
  if (failure instanceof CifError) {
    return { message: failure.rawMessage || failure.message, errorCode: failure.code, reason: failure.reason ?? undefined };
  }
  return { message: failure instanceof Error ? failure.message : String(failure) };
}

const requestId = () => crypto.randomUUID();

/** Base presence statuses as CIF shows them. */
const BASE_STATUS: Record<PresenceStatus, string> = {
  [PresenceStatus.UNSPECIFIED]: "",
  [PresenceStatus.AVAILABLE]: "Available",
  [PresenceStatus.BUSY]: "Busy",
  [PresenceStatus.BUSY_DND]: "Busy - DND",
  [PresenceStatus.AWAY]: "Away",
  [PresenceStatus.OFFLINE]: "Offline",
};

/** CIF's panel mode numbers are the proto's minus one (0 minimized ... 3 collapsed). */
const cifMode = (mode: PanelMode) => mode - 1;

/** The widget's own input object (CIF passes JSON objects, sometimes as strings). */
function input(value: unknown): Record<string, unknown> {
  if (typeof value === "string") {
    try {
      return input(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") throw new Error(`${what} is required`);
  return value;
}

/** The focused session, which CIF's tab calls act on. */
function focused(context: CallContext): string {
  return context.focusedSessionId();
}

const METHODS: Record<DeskMethod, Method> = {
  async canCreateSession({ client, agentId }) {
    return (await client.canCreateSession({ agentId })).canCreate;
  },
  async createSession({ client, agentId }, [given]) {
    const { templateName, templateParameters, context } = input(given);
    const parameters: Record<string, string> = {};
    const tabParameters: Record<string, { values: Record<string, string> }> = {};
    for (const [name, value] of Object.entries(input(templateParameters))) {
      if (value !== null && typeof value === "object") tabParameters[name] = { values: strings(input(value)) };
      else parameters[name] = String(value);
    }
    const created = await client.createSession({
      agentId,
      template: typeof templateName === "string" ? templateName : "",
      parameters,
      tabParameters,
      context: strings(input(context)),
      requestId: requestId(),
    });
    return created.session?.id;
  },
  async getSession({ client }, [sessionId]) {
    const { session } = await client.getSession({ sessionId: text(sessionId, "sessionId") });
    return {
      sessionId: session?.id,
      conversationId: "",
      context: session?.context ?? {},
      isFocused: session?.focused ?? false,
      title: session?.title,
    };
  },
  async getFocusedSession({ client, agentId }) {
    const focusedSession = await client.getFocusedSession({ agentId });
    return focusedSession.sessionId || null;
  },
  async getAllSessions({ client, agentId }) {
    return (await client.listSessions({ agentId, pageSize: 100 })).sessions.map((session) => session.id);
  },
  async requestFocusSession({ client }, [sessionId, messagesCount]) {
    await client.requestFocusSession({
      sessionId: text(sessionId, "sessionId"),
      messagesCount: typeof messagesCount === "number" ? messagesCount : 0,
      requestId: requestId(),
    });
  },
  async setSessionTitle(context, [given]) {
    const { sessionId, title } = input(given);
    await context.client.setSessionTitle({
      sessionId: typeof sessionId === "string" && sessionId ? sessionId : focused(context),
      title: text(title, "title"),
      requestId: requestId(),
    });
  },
  async updateContext({ client }, [given, sessionId, isDelete]) {
    const values = input(given);
    const session = text(sessionId, "sessionId");
    await client.updateSessionContext(
      isDelete === true
        ? { sessionId: session, delete: Object.keys(values), requestId: requestId() }
        : { sessionId: session, set: strings(values), requestId: requestId() },
    );
    const { session: updated } = await client.getSession({ sessionId: session });
    return JSON.stringify(updated?.context ?? {});
  },
  async createTab(context, [given]) {
    const { templateName, templateParameters, isFocused } = input(given);
    const created = await context.client.createTab({
      sessionId: focused(context),
      template: text(templateName, "templateName"),
      parameters: strings(input(templateParameters)),
      focus: isFocused !== false,
      requestId: requestId(),
    });
    return created.tab?.id;
  },
  async getTabs(context, [templateName]) {
    const { tabs } = await context.client.listTabs({ sessionId: focused(context) });
    return tabs.filter((tab) => !templateName || tab.template === templateName).map((tab) => tab.id);
  },
  async getFocusedTab(context) {
    const { tab } = await context.client.getFocusedTab({ sessionId: focused(context) });
    return tab?.id || null;
  },
  async focusTab({ client }, [tabId]) {
    await client.focusTab({ tabId: text(tabId, "tabId"), requestId: requestId() });
  },
  async refreshTab({ client }, [tabId]) {
    await client.refreshTab({ tabId: text(tabId, "tabId"), requestId: requestId() });
  },
  async setTabTitle({ client }, [tabId, given]) {
    const id = text(tabId, "tabId");
    await client.setTabTitle({ tabId: id, title: text(input(given).title, "title"), requestId: requestId() });
    return id;
  },
  async closeTab({ client }, [tabId]) {
    await client.closeTab({ tabId: text(tabId, "tabId"), requestId: requestId() });
  },
  async setMode({ client, agentId }, [value]) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 3) {
      throw new Error("The setMode parameter value must be 0 (minimized), 1 (docked), 2 (hidden) or 3 (collapsed)");
    }
    await client.setMode({ agentId, mode: (value + 1) as PanelMode, requestId: requestId() });
  },
  async getMode({ client, agentId }) {
    return cifMode((await client.getMode({ agentId })).mode);
  },
  async setWidth({ client, agentId }, [value]) {
    if (typeof value !== "number" || !(value > 0)) {
      throw new Error("The setWidth parameter value is invalid. Provide a positive number to the parameter.");
    }
    // CIF ignores widths below 300 pixels.
    if (value < 300) return;
    await client.setWidth({ agentId, width: Math.round(value), requestId: requestId() });
  },
  async getWidth({ client, agentId }) {
    return (await client.getWidth({ agentId })).width;
  },
  async notifyEvent(context, [given, , token]) {
    const { templateName, templateParameters, cancellationToken } = input(given);
    const notificationId = await notificationIdOf(context.providerId, cancellationToken ?? token);
    const outcome = context.toastOutcome(notificationId);
    const answered = await context.client.notifyEvent({
      agentId: context.agentId,
      notificationId,
      template: text(templateName, "templateName"),
      parameters: strings(input(templateParameters)),
      answerWhenQueued: true,
    });
    if (answered.result?.outcome) context.toastEnded(answered.result);
    return outcome;
  },
  async cancelEvent(context, [token]) {
    const notificationId = await notificationIdOf(context.providerId, token);
    await context.client.cancelEvent({ notificationId, requestId: requestId() });
    return token;
  },
  async notifyNewActivity({ client }, [sessionId, count]) {
    if (typeof count !== "number" || count < 0) throw new Error("count must be a number, 0 or more");
    await client.notifyNewActivity({ sessionId: text(sessionId, "sessionId"), count, requestId: requestId() });
  },
  async notifyKpiBreach({ client }, [sessionId, shouldReset, details]) {
    await client.notifyKpiBreach({
      sessionId: text(sessionId, "sessionId"),
      reset: shouldReset === true,
      details: typeof details === "string" ? details : "",
      requestId: requestId(),
    });
  },
  async setPresence({ client, agentId }, [presenceText]) {
    await client.setPresence({ agentId, presenceText: text(presenceText, "presenceText"), requestId: requestId() });
    return true;
  },
  async getPresence({ client, agentId }) {
    return (await client.getPresence({ agentId })).presence?.text ?? "";
  },
  async getEnvironment({ client }) {
    const environment = await client.getEnvironment({});
    return JSON.stringify({
      appUrl: location.origin,
      clientUrl: location.origin,
      cifVersion: environment.cifVersion,
      crmVersion: "",
      customParams: environment.customParameters,
      providerId: environment.providerId,
      uniqueName: environment.uniqueName,
    });
  },
  async setClickToAct({ client, agentId }, [value]) {
    if (typeof value !== "boolean") throw new Error("setClickToAct needs true or false");
    await client.setClickToAct({ agentId, enabled: value, requestId: requestId() });
    return null;
  },
  async getClickToAct({ client, agentId }) {
    return (await client.getClickToAct({ agentId })).enabled;
  },
  async raiseEvent({ client, agentId }, [eventName, parameters]) {
    await client.raiseEvent({
      agentId,
      name: text(eventName, "eventName"),
      payload: typeof parameters === "string" ? parameters : JSON.stringify(parameters ?? {}),
      requestId: requestId(),
    });
    return true;
  },
};

/**
 * CIF's cancellation token is free-form; cifd names toasts by UUID. The same token of the same
 * provider always maps to the same UUID (so cancelEvent finds the toast notifyEvent raised);
 * without a token a toast gets a fresh one.
 */
async function notificationIdOf(providerId: string, token: unknown): Promise<string> {
  if (typeof token !== "string" || token === "") return crypto.randomUUID();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${providerId}\n${token}`)));
  digest[6] = (digest[6]! & 0x0f) | 0x80; // version 8: made here, from a name
  digest[8] = (digest[8]! & 0x3f) | 0x80; // the RFC 9562 variant
  const hex = [...digest.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** notifyEvent's result as CIF's widgets parse it: a JSON string of {value: {actionName, responseReason}}. */
function cifOutcome(result: NotificationResult): string {
  return JSON.stringify({ value: { actionName: result.cifActionName, responseReason: result.cifResponseReason } });
}

function run(method: string, context: CallContext, args: unknown[]): Promise<unknown> {
  const implementation = Object.hasOwn(METHODS, method) ? METHODS[method as DeskMethod] : undefined;
  if (!implementation) return Promise.reject(new Error(`${method} is not supported by this desk yet`));
  return implementation(context, args);
}

function strings(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

/** The CIF events (handler name, payload as the JSON string CIF's handlers parse) an event
 * from the desk's stream makes for a widget. */
function cifEvents(event: Event): [string, string][] {
  const kind = event.kind;
  switch (kind.case) {
    case "sessionSwitched": {
      const session = kind.value.session;
      const focused = kind.value.focused;
      // CIF's docs spell it "focussed"; widgets written against either spelling work.
      return [["onSessionSwitched", JSON.stringify({ sessionId: session?.id, focused, focussed: focused, context: session?.context ?? {} })]];
    }
    case "sessionClosed":
      return [["onSessionClosed", JSON.stringify({ sessionId: kind.value.session?.id, context: kind.value.session?.context ?? {} })]];
    case "panelModeChanged":
      return [["onmodechanged", JSON.stringify({ value: cifMode(kind.value.mode) })]];
    case "panelWidthChanged":
      return [["onsizechanged", JSON.stringify({ value: kind.value.width })]];
    case "clickToAct": {
      const { value, name, format, entityLogicalName } = kind.value;
      return [["onclicktoact", JSON.stringify({ value, name, format, entityLogicalName })]];
    }
    case "presenceChanged": {
      const presence = kind.value.presence;
      const presenceInfo = {
        basePresenceStatus: BASE_STATUS[presence?.baseStatus ?? PresenceStatus.UNSPECIFIED],
        presenceColor: presence?.color ?? "",
        presenceId: presence?.presenceId ?? "",
        presenceText: presence?.text ?? "",
      };
      return [["onPresenceChange", JSON.stringify({ presenceId: presenceInfo.presenceId, presenceInfo })]];
    }
    case "customEvent":
      return [[kind.value.name, kind.value.payload]];
    default:
      return [];
  }
}
