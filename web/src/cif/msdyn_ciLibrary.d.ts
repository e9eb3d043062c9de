// TypeScript declarations of CIF 2.0's widget API as cifd's library serves it
// (/webresources/Widget/msdyn_ciLibrary.js): the global `Microsoft.CIFramework`, with CIF's
// documented signatures. Copy this file into a widget written in TypeScript.
//
// Every call returns a promise; a refusal rejects with a `CIFError`. Handlers registered with
// addHandler receive their payload as a JSON string, as CIF's handlers parse it.

declare namespace Microsoft.CIFramework {
  /** What every refusal rejects with. */
  interface CIFError {
    /** What went wrong and what to do. */
    message: string;
    /** The gRPC status code cifd answered with, when cifd refused the call. */
    errorCode?: number;
    /** cifd's reason (ErrorInfo), e.g. "SESSION_NOT_FOUND", when cifd refused the call. */
    reason?: string;
    /** The CIF method that was called. */
    msdyn_name: string;
  }

  /** createSession's input. */
  interface SessionInput {
    /** A session template's unique name. */
    templateName: string;
    /** Slug values; an object value holds one tab template's parameters, by its name. */
    templateParameters?: Record<string, unknown>;
    /** The session's context. */
    context?: Record<string, unknown>;
  }

  /** createTab's input: a tab template in the focused session. */
  interface TabInput {
    templateName: string;
    templateParameters?: Record<string, unknown>;
    /** Focus the tab once created (the default). */
    isFocused?: boolean;
  }

  /** notifyEvent's input: a notification template and its slugs. */
  interface NotificationInput {
    templateName: string;
    templateParameters?: Record<string, unknown>;
    /** Names the toast for cancelEvent; any string. */
    cancellationToken?: string;
  }

  /** getSession's answer. */
  interface SessionInfo {
    sessionId: string;
    conversationId: string;
    context: Record<string, string>;
    isFocused: boolean;
    title: string;
  }

  type Handler = (eventData: string) => unknown;

  /** 0 minimized, 1 docked, 2 hidden, 3 collapsed. */
  type Mode = 0 | 1 | 2 | 3;

  function canCreateSession(correlationId?: string): Promise<boolean>;
  function createSession(input: SessionInput, correlationId?: string): Promise<string>;
  function getSession(sessionId: string, correlationId?: string): Promise<SessionInfo>;
  function getFocusedSession(correlationId?: string): Promise<string | null>;
  function getAllSessions(correlationId?: string): Promise<string[]>;
  function requestFocusSession(sessionId: string, messagesCount?: number, correlationId?: string): Promise<void>;
  function setSessionTitle(input: { sessionId?: string; title: string }, correlationId?: string): Promise<void>;
  /** Resolves with the session's context after the change, as a JSON string. */
  function updateContext(
    input: Record<string, unknown>,
    sessionId: string,
    isDelete?: boolean,
    correlationId?: string,
  ): Promise<string>;

  function createTab(input: TabInput, correlationId?: string): Promise<string>;
  function getTabs(templateName?: string, tags?: string[], correlationId?: string): Promise<string[]>;
  function getFocusedTab(correlationId?: string): Promise<string | null>;
  function focusTab(tabId: string, correlationId?: string): Promise<void>;
  function refreshTab(tabId: string, correlationId?: string): Promise<void>;
  function setTabTitle(tabId: string, input: { title: string }, correlationId?: string): Promise<string>;
  function closeTab(tabId: string, correlationId?: string): Promise<void>;

  function setMode(value: Mode): Promise<void>;
  function getMode(): Promise<Mode>;
  /** Widths below 300 pixels are ignored, as in CIF. */
  function setWidth(value: number): Promise<void>;
  function getWidth(): Promise<number>;

  /** Resolves when the toast ends, with `{"value":{"actionName","responseReason"}}` as a JSON string. */
  function notifyEvent(input: NotificationInput, correlationId?: string, cancellationToken?: string): Promise<string>;
  /** Resolves with the cancellation token. */
  function cancelEvent(cancellationToken: string, correlationId?: string): Promise<string>;
  function notifyNewActivity(sessionId: string, count: number, correlationId?: string): Promise<void>;
  function notifyKpiBreach(sessionId: string, shouldReset?: boolean, details?: string): Promise<void>;

  function setPresence(presenceText: string, correlationId?: string): Promise<boolean>;
  /** The presence's text, or "" when none is set. */
  function getPresence(correlationId?: string): Promise<string>;
  /** A JSON string: appUrl, clientUrl, cifVersion, crmVersion, customParams, providerId, uniqueName. */
  function getEnvironment(correlationId?: string): Promise<string>;
  function raiseEvent(eventName: string, eventInputParameters: string, correlationId?: string): Promise<boolean>;
  function setClickToAct(value: boolean, correlationId?: string): Promise<null>;
  function getClickToAct(correlationId?: string): Promise<boolean>;

  function addHandler(eventName: string, handler: Handler): Promise<void>;
  function removeHandler(eventName: string, handler: Handler): Promise<boolean>;

  // CIF calls that need Dynamics 365's CRM: they always reject (this desk has none).
  function createRecord(entityLogicalName: string, data: string, correlationId?: string): Promise<never>;
  function retrieveRecord(entityLogicalName: string, id: string, query?: string, correlationId?: string): Promise<never>;
  function updateRecord(entityLogicalName: string, id: string, data: string, correlationId?: string): Promise<never>;
  function deleteRecord(entityLogicalName: string, id: string, correlationId?: string): Promise<never>;
  function searchAndOpenRecords(
    entityLogicalName: string,
    queryParameters: string,
    searchOnly: boolean,
    correlationId?: string,
    searchType?: number,
  ): Promise<never>;
  function openForm(entityFormOptions: string, formParameters?: string, correlationId?: string): Promise<never>;
  function getEntityMetadata(entityName: string, attributes?: string[], correlationId?: string): Promise<never>;
  function renderSearchPage(
    entityLogicalName: string,
    searchString: string,
    correlationId?: string,
    searchType?: number,
  ): Promise<never>;
  function updateConversation(id: string, data: string, correlationId?: string): Promise<never>;
  function logAnalyticsEvent(data: string, eventName: string, correlationId?: string): Promise<never>;
}

interface WindowEventMap {
  /** The library is ready: the desk answered, and Microsoft.CIFramework may be called. */
  CIFInitDone: CustomEvent<string[]>;
}
