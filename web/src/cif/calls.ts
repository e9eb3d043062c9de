// CIF 2.0's calls as the desk makes them for a widget: each in CIF's parameter shapes,
// made to cifd with the widget's provider client, answered in CIF's result shapes.

import {
  PanelMode,
  type NotificationResult,
  type ProviderClient,
} from "../../../clients/typescript/src/web.js";
import type { DeskMethod } from "./protocol.js";

/** What a CIF call runs with: the widget's provider client, the agent it acts for, and the
 * desk's state and toasts it needs. */
export interface CallContext {
  client: ProviderClient;
  agentId: string;
  providerId: string;
  focusedSessionId: () => string;
  /** notifyEvent's result: resolved once, when the toast ends (heard on the desk's stream). */
  toastOutcome: (notificationId: string) => Promise<string>;
  toastEnded: (result: NotificationResult) => void;
}

type Method = (context: CallContext, args: unknown[]) => Promise<unknown>;

const requestId = () => crypto.randomUUID();

/** CIF's panel mode numbers are the proto's minus one (0 minimized ... 3 collapsed). */
export const cifMode = (mode: PanelMode) => mode - 1;

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
export function cifOutcome(result: NotificationResult): string {
  return JSON.stringify({ value: { actionName: result.cifActionName, responseReason: result.cifResponseReason } });
}

export function run(method: string, context: CallContext, args: unknown[]): Promise<unknown> {
  const implementation = Object.hasOwn(METHODS, method) ? METHODS[method as DeskMethod] : undefined;
  if (!implementation) return Promise.reject(new Error(`${method} is not supported by this desk yet`));
  return implementation(context, args);
}

function strings(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}
