// CIF 2.0's widget library, as cifd serves it at /webresources/Widget/msdyn_ciLibrary.js: the
// global `Microsoft.CIFramework` a widget written against Microsoft's documentation calls.
// It holds no credential and speaks no gRPC: each call goes by postMessage to the desk page
// that framed the widget (cifd's own page), which makes it and posts the answer back. The
// desk's origin comes from the script tag (`data-crmurl`, as CIF documents) or the widget
// URL's `ucilib` parameter; messages from any other window or origin are ignored.

import { CRM_METHODS, DESK_METHODS, type Answer, type DeskMessage, type WidgetMessage } from "./protocol.js";

type Handler = (data: unknown) => unknown;

/** The CIF error every refusal rejects with: a message, and what CIF's callers read. */
interface CifError {
  message: string;
  errorCode?: number;
  reason?: string;
  msdyn_name: string;
}

const script = document.currentScript as HTMLScriptElement | null;

/** The desk page's origin, as CIF's two documented ways give it. */
function deskOrigin(): string | undefined {
  const given = script?.dataset.crmurl ?? new URL(location.href).searchParams.get("ucilib") ?? script?.src;
  try {
    return given ? new URL(given).origin : undefined;
  } catch {
    return undefined;
  }
}

const desk = deskOrigin();
const handlers = new Map<string, Set<Handler>>();
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: CifError) => void; method: string }>();
let nextId = 1;

function post(message: WidgetMessage): void {
  if (desk && window.parent !== window) window.parent.postMessage(message, desk);
}

function call(method: string, args: unknown[]): Promise<unknown> {
  if (!desk) {
    return Promise.reject<unknown>({
      message: "The CIF library found no desk: load it with data-crmurl (or the ucilib parameter) naming the desk",
      msdyn_name: method,
    } satisfies CifError);
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, method });
    post({ cif: "call", id, method, args: JSON.parse(JSON.stringify(args)) as unknown[] });
  });
}

function answered(answer: Answer): void {
  const waiting = pending.get(answer.id);
  if (!waiting) return;
  pending.delete(answer.id);
  if (answer.error) waiting.reject({ ...answer.error, msdyn_name: waiting.method });
  else waiting.resolve(answer.result);
}

function dispatch(name: string, data: unknown): void {
  for (const [registered, set] of handlers) {
    // CIF's event names are matched as written, and case-insensitively (onModeChanged).
    if (registered.toLowerCase() !== name.toLowerCase()) continue;
    for (const handler of set) {
      try {
        void handler(data);
      } catch (failure) {
        console.error(`CIF handler for ${name} failed`, failure);
      }
    }
  }
}

window.addEventListener("message", (event: MessageEvent<DeskMessage>) => {
  if (event.source !== window.parent || event.origin !== desk) return;
  const message = event.data;
  if (!message || typeof message !== "object") return;
  switch (message.cif) {
    case "ready":
      window.dispatchEvent(new CustomEvent("CIFInitDone", { detail: [desk] }));
      break;
    case "answer":
      answered(message);
      break;
    case "event":
      dispatch(message.name, message.data);
      break;
  }
});

// The declarations (msdyn_ciLibrary.d.ts) and what the library serves name the same calls.
type Declared = keyof typeof Microsoft.CIFramework;
type Served = (typeof DESK_METHODS)[number] | (typeof CRM_METHODS)[number] | "addHandler" | "removeHandler";
const declaredAreServed: [Exclude<Declared, Served>, Exclude<Served, Declared>] extends [never, never] ? true : false = true;
void declaredAreServed;

const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
for (const method of DESK_METHODS) api[method] = (...args) => call(method, args);
for (const method of CRM_METHODS) {
  api[method] = () =>
    Promise.reject<unknown>({
      message: `${method} needs a CRM, and this desk (cifd) has none behind it`,
      msdyn_name: method,
    } satisfies CifError);
}
api.addHandler = (name, handler) => {
  if (typeof name !== "string" || typeof handler !== "function") {
    return Promise.reject<unknown>({ message: "addHandler needs an event name and a function", msdyn_name: "addHandler" });
  }
  const set = handlers.get(name) ?? new Set<Handler>();
  set.add(handler as Handler);
  handlers.set(name, set);
  return Promise.resolve();
};
api.removeHandler = (name, handler) => {
  const removed = typeof name === "string" && (handlers.get(name)?.delete(handler as Handler) ?? false);
  return Promise.resolve(removed);
};

const global = window as unknown as { Microsoft?: { CIFramework?: unknown } };
global.Microsoft = { ...(global.Microsoft ?? {}), CIFramework: api };

// The handshake: the desk answers "ready" once it can make this widget's calls.
post({ cif: "hello" });
