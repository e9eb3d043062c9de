// The messages between a widget's CIF library and the desk page that frames it (rule 21).
// The desk knows the widget by the frame it made for it and that frame's origin, never by
// anything a message says.

/** From the widget's library to the desk. */
export type WidgetMessage =
  /** The library loaded: the desk answers "ready" once it can make the widget's calls. */
  | { cif: "hello" }
  /** A CIF call, answered by an "answer" with the same id. */
  | { cif: "call"; id: number; method: string; args: unknown[] };

/** A call's outcome: a result in CIF's shape, or a refusal. */
export interface Answer {
  cif: "answer";
  id: number;
  result?: unknown;
  error?: { message: string; errorCode?: number; reason?: string };
}

/** From the desk to the widget's library. */
export type DeskMessage =
  | { cif: "ready" }
  | Answer
  /** An event for the widget's handlers (addHandler), in CIF's payload shape. */
  | { cif: "event"; name: string; data: unknown };

/** CIF calls that belong to the CRM behind Dynamics 365: this desk has none. */
export const CRM_METHODS = [
  "createRecord",
  "retrieveRecord",
  "updateRecord",
  "deleteRecord",
  "searchAndOpenRecords",
  "openForm",
  "getEntityMetadata",
  "renderSearchPage",
  "updateConversation",
  "logAnalyticsEvent",
] as const;

/** Every CIF call the desk answers: the library sends it to the desk with its arguments. */
export const DESK_METHODS = [
  "canCreateSession",
  "createSession",
  "getSession",
  "getFocusedSession",
  "getAllSessions",
  "requestFocusSession",
  "setSessionTitle",
  "updateContext",
  "createTab",
  "getTabs",
  "getFocusedTab",
  "focusTab",
  "refreshTab",
  "setTabTitle",
  "closeTab",
  "setMode",
  "getMode",
  "setWidth",
  "getWidth",
  "notifyEvent",
  "cancelEvent",
  "notifyNewActivity",
  "notifyKpiBreach",
  "setPresence",
  "getPresence",
  "getEnvironment",
  "raiseEvent",
  "setClickToAct",
  "getClickToAct",
] as const;

/** A call the desk answers. */
export type DeskMethod = (typeof DESK_METHODS)[number];
