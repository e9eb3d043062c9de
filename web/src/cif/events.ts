// What a widget's handlers hear: an event from the desk's stream (as the server decided the
// widget's provider hears it) as CIF's handler names and payloads.

import { PresenceStatus, type Event } from "../../../clients/typescript/src/web.js";
import { cifMode } from "./calls.js";

/** Base presence statuses as CIF shows them. */
const BASE_STATUS: Record<PresenceStatus, string> = {
  [PresenceStatus.UNSPECIFIED]: "",
  [PresenceStatus.AVAILABLE]: "Available",
  [PresenceStatus.BUSY]: "Busy",
  [PresenceStatus.BUSY_DND]: "Busy - DND",
  [PresenceStatus.AWAY]: "Away",
  [PresenceStatus.OFFLINE]: "Offline",
};

/** The CIF events (handler name, payload as the JSON string CIF's handlers parse) an event
 * from the desk's stream makes for a widget. */
export function cifEvents(event: Event): [string, string][] {
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
