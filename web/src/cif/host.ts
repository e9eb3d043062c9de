// The desk's side of CIF 2.0's widget API (rule 21). Each admitted provider's widget frame
// talks to the desk by postMessage (see protocol.ts); the desk knows the caller by the frame it
// made for that provider and the frame's origin, makes the call to cifd with that provider's
// widget credential (which never leaves this page), and answers in CIF's shapes. Events come
// from the desk's own stream, already decided per provider by the server.

import {
  CifError,
  PanelMode,
  provider as providerOver,
  type AgentClient,
  type DeskProvider,
  type Event,
  type ProviderClient,
  type WidgetDelivery,
} from "../../../clients/typescript/src/web.js";
import { millis } from "../toasts.js";
import type { Answer, DeskMessage, WidgetMessage } from "./protocol.js";

/** A provider's widget as the desk hosts it. */
interface Hosted {
  provider: DeskProvider;
  client: ProviderClient;
  renewal: number;
}

/** What a CIF call runs with: the widget's provider client and the agent it acts for. */
interface CallContext {
  client: ProviderClient;
  agentId: string;
}

type Method = (context: CallContext, args: unknown[]) => Promise<unknown>;

export class WidgetHost {
  private readonly hosted = new Map<string, Hosted>();
  private providers: DeskProvider[] = [];

  constructor(
    private readonly agent: AgentClient,
    private readonly agentId: () => string,
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
      await this.host(provider);
      this.post(provider.providerId, { cif: "ready" });
    } else if (message.cif === "call" && typeof message.id === "number" && Array.isArray(message.args)) {
      const answer: Answer = { cif: "answer", id: message.id };
      try {
        const hosted = this.hosted.get(provider.providerId) ?? (await this.host(provider));
        answer.result = await run(message.method, { client: hosted.client, agentId: this.agentId() }, message.args);
      } catch (failure) {
        answer.error = refusal(failure);
      }
      this.post(provider.providerId, answer);
    }
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

/** CIF's panel mode numbers are the proto's minus one (0 minimized ... 3 collapsed). */
const cifMode = (mode: PanelMode) => mode - 1;

const METHODS: Record<string, Method> = {
  async canCreateSession({ client, agentId }) {
    return (await client.canCreateSession({ agentId })).canCreate;
  },
  async createSession({ client, agentId }, [input]) {
    const given = (input ?? {}) as { templateName?: string; templateParameters?: Record<string, unknown>; context?: Record<string, unknown> };
    const parameters: Record<string, string> = {};
    const tabParameters: Record<string, { values: Record<string, string> }> = {};
    for (const [name, value] of Object.entries(given.templateParameters ?? {})) {
      if (value !== null && typeof value === "object") tabParameters[name] = { values: strings(value as Record<string, unknown>) };
      else parameters[name] = String(value);
    }
    const created = await client.createSession({
      agentId,
      template: given.templateName ?? "",
      parameters,
      tabParameters,
      context: strings(given.context ?? {}),
      requestId: requestId(),
    });
    return created.session?.id;
  },
  async getFocusedSession({ client, agentId }) {
    const focused = await client.getFocusedSession({ agentId });
    return focused.sessionId || null;
  },
  async getAllSessions({ client, agentId }) {
    return (await client.listSessions({ agentId, pageSize: 100 })).sessions.map((session) => session.id);
  },
  async requestFocusSession({ client }, [sessionId, messagesCount]) {
    await client.requestFocusSession({
      sessionId: String(sessionId),
      messagesCount: typeof messagesCount === "number" ? messagesCount : 0,
      requestId: requestId(),
    });
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
};

function run(method: string, context: CallContext, args: unknown[]): Promise<unknown> {
  const implementation = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
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
    default:
      return [];
  }
}
