// The desk's side of CIF 2.0's widget API (rule 21). Each admitted provider's widget frame
// talks to the desk by postMessage (see protocol.ts); the desk knows the caller by the frame it
// made for that provider and the frame's origin, makes the call to cifd with that provider's
// widget credential (which never leaves this page), and answers in CIF's shapes (calls.ts).
// Events come from the desk's own stream, already decided per provider by the server
// (events.ts).

import {
  CifError,
  Code,
  provider as providerOver,
  type AgentClient,
  type DeskProvider,
  type NotificationResult,
  type ProviderClient,
  type WidgetDelivery,
} from "../../../clients/typescript/src/web.js";
import { millis } from "../toasts.js";
import { cifOutcome, run, type CallContext } from "./calls.js";
import { cifEvents } from "./events.js";
import type { Answer, DeskMessage, WidgetMessage } from "./protocol.js";

/** A provider's widget as the desk hosts it. */
interface Hosted {
  provider: DeskProvider;
  client: ProviderClient;
  renewal: number;
}

/** Where the desk is now, as CIF's calls on "the focused session" need it. */
export interface DeskNow {
  agentId: string;
  focusedSessionId: string;
}

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
