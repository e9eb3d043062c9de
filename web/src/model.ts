// The desk as the page knows it: the snapshot the agent's stream starts with, kept current by
// applying each event in order. Pure: no DOM, no network.

import {
  PanelMode,
  SessionKind,
  type Desk,
  type DeskWidgets,
  type Event,
  type Notification,
  type Session,
  type SnapshotItem,
  type Tab,
} from "../../clients/typescript/src/web.js";

/** What a change means for the frames the page shows. */
export interface Effects {
  /** Tabs whose frame must load again (RefreshTab). */
  refreshed: string[];
}

export class DeskModel {
  constructor(
    public desk: Desk,
    public widgets: DeskWidgets | undefined,
  ) {}

  /** The model a snapshot describes (the desk, then its widgets). */
  static fromSnapshot(items: SnapshotItem[]): DeskModel {
    let desk: Desk | undefined;
    let widgets: DeskWidgets | undefined;
    for (const item of items) {
      if (item.item.case === "desk") desk = item.item.value;
      if (item.item.case === "widgets") widgets = item.item.value;
    }
    if (!desk) throw new Error("the snapshot has no desk");
    return new DeskModel(desk, widgets);
  }

  /** Every session in the bar's order: home first, then the open ones in creation order. */
  sessions(): Session[] {
    return this.desk.homeSession ? [this.desk.homeSession, ...this.desk.sessions] : [...this.desk.sessions];
  }

  focused(): Session | undefined {
    return this.sessions().find((session) => session.id === this.desk.focusedSessionId);
  }

  /** The label a session shows for its owner: the provider's label while the desk hosts it. */
  ownerLabel(session: Session): string {
    if (session.kind === SessionKind.HOME) return "Home";
    const owner = session.owner;
    if (!owner) return "";
    const hosted = this.widgets?.providers.find((provider) => provider.providerId === owner.providerId);
    return hosted?.label ?? owner.providerUniqueName;
  }

  /** The toast on screen first, then the ones waiting behind it. */
  toasts(): Notification[] {
    return this.desk.notifications;
  }

  /** Applies one event of the agent's stream. */
  apply(event: Event): Effects {
    const effects: Effects = { refreshed: [] };
    const kind = event.kind;
    switch (kind.case) {
      case "sessionCreated":
      case "sessionSwitched":
      case "sessionClosed":
      case "sessionRetitled":
      case "sessionContextChanged":
      case "sessionMarksChanged": {
        const session = kind.value.session;
        if (!session) break;
        if (kind.case === "sessionClosed") {
          this.desk.sessions = this.desk.sessions.filter((s) => s.id !== session.id);
        } else {
          this.putSession(session);
        }
        if (kind.case === "sessionSwitched" && kind.value.focused) this.desk.focusedSessionId = session.id;
        if (kind.case === "sessionCreated") this.desk.focusedSessionId = session.id;
        // Only the focused session is marked focused.
        for (const other of this.sessions()) other.focused = other.id === this.desk.focusedSessionId;
        break;
      }
      case "tabCreated":
      case "tabFocused":
      case "tabRefreshed":
      case "tabRetitled":
      case "tabClosed": {
        const tab = kind.value.tab;
        if (!tab) break;
        this.putTab(tab, kind.case === "tabClosed");
        if (kind.case === "tabRefreshed") effects.refreshed.push(tab.id);
        break;
      }
      case "panelModeChanged":
        this.desk.panelMode = kind.value.mode;
        break;
      case "panelWidthChanged":
        this.desk.panelWidth = kind.value.width;
        break;
      case "presenceChanged":
        this.desk.presence = kind.value.presence;
        break;
      case "notificationQueued":
      case "notificationShown": {
        const toast = kind.value.notification;
        if (!toast) break;
        const others = this.desk.notifications.filter((t) => !sameToast(t, toast));
        // The one on screen comes first; waiting ones keep their order.
        this.desk.notifications = kind.case === "notificationShown" ? [toast, ...others] : [...others, toast];
        break;
      }
      case "notificationResolved": {
        const toast = kind.value.notification;
        if (toast) this.desk.notifications = this.desk.notifications.filter((t) => !sameToast(t, toast));
        break;
      }
      case "providerAdmissionChanged":
        for (const session of this.desk.sessions) {
          if (session.owner?.providerId === kind.value.providerId) {
            session.owner.providerNotAdmitted = !kind.value.admitted;
          }
        }
        break;
      case "deskWidgetsChanged":
        this.widgets = kind.value.widgets;
        break;
      case "visibleWidgetChanged":
        if (this.widgets) this.widgets.visibleProviderId = kind.value.visibleProviderId;
        break;
      default:
        // Click-to-act and custom events are for widgets, not for the desk's own view.
        break;
    }
    return effects;
  }

  private putSession(session: Session): void {
    if (session.kind === SessionKind.HOME) {
      this.desk.homeSession = session;
      return;
    }
    const index = this.desk.sessions.findIndex((s) => s.id === session.id);
    if (index >= 0) this.desk.sessions[index] = session;
    else this.desk.sessions.push(session);
  }

  private putTab(tab: Tab, closed: boolean): void {
    const session = this.sessions().find((s) => s.id === tab.sessionId);
    if (!session) return;
    const index = session.tabs.findIndex((t) => t.id === tab.id);
    if (closed) {
      if (index >= 0) session.tabs.splice(index, 1);
      if (session.focusedTabId === tab.id) session.focusedTabId = "";
    } else {
      // Tabs keep the order they were opened in.
      if (index >= 0) session.tabs[index] = tab;
      else session.tabs.push(tab);
      if (tab.focused) session.focusedTabId = tab.id;
    }
    for (const t of session.tabs) t.focused = t.id === session.focusedTabId;
  }
}

function sameToast(a: Notification, b: Notification): boolean {
  return a.providerId === b.providerId && a.notificationId === b.notificationId;
}

/** The CIF names of panel modes, for the agent's controls. */
export const MODES: [PanelMode, string][] = [
  [PanelMode.DOCKED, "Docked"],
  [PanelMode.MINIMIZED, "Minimized"],
  [PanelMode.COLLAPSED, "Collapsed"],
  [PanelMode.HIDDEN, "Hidden"],
];
