// Toasts, one at a time: the one on screen with its fields and a countdown, the accept and
// decline texts, and how many wait behind it. The countdown runs from the server's deadline
// and the server's time of the event that showed the toast, so a wrong browser clock does
// not shorten or stretch it.

import { h, fill } from "./dom.js";
import type { Notification } from "../../clients/typescript/src/web.js";

type Respond = (toast: Notification, accept: boolean) => void;

/** Milliseconds since the epoch of a protobuf timestamp. */
export function millis(time: { seconds: bigint; nanos: number } | undefined): number | undefined {
  return time ? Number(time.seconds) * 1000 + Math.floor(time.nanos / 1e6) : undefined;
}

export class Toasts {
  readonly element = h("section", { class: "toasts", "aria-label": "Notifications" });
  /** Where the countdown of each shown toast ends, on this page's monotonic clock. */
  private ends = new Map<string, number>();
  /** The server's clock minus this browser's, from the latest event's time. */
  private skew = 0;
  private ticking: number | undefined;
  private flashing: number | undefined;
  private readonly title = document.title;

  constructor(private readonly respond: Respond) {
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.stopFlashing();
    });
  }

  /** An event's server time, received now: keeps the estimate of the server's clock. */
  heardAt(serverTime: number | undefined): void {
    if (serverTime !== undefined) this.skew = serverTime - Date.now();
  }

  /** A toast came on screen at `serverTime` (the event's time). */
  shown(toast: Notification, serverTime: number | undefined): void {
    const expires = millis(toast.expireTime);
    if (expires === undefined) return;
    const now = serverTime ?? Date.now() + this.skew;
    this.ends.set(key(toast), performance.now() + (expires - now));
    if (document.hidden) this.flash(toast.title);
  }

  render(toasts: Notification[]): void {
    const [current, ...waiting] = toasts;
    window.clearInterval(this.ticking);
    if (!current) {
      fill(this.element);
      this.stopFlashing();
      return;
    }
    if (!this.ends.has(key(current))) {
      // Shown before this page loaded: count from the estimate of the server's clock.
      const expires = millis(current.expireTime);
      if (expires !== undefined) {
        this.ends.set(key(current), performance.now() + (expires - (Date.now() + this.skew)));
      }
    }
    const countdown = h("p", { class: "countdown" });
    const tick = () => {
      const end = this.ends.get(key(current));
      countdown.textContent =
        end === undefined
          ? "No time limit"
          : `${Math.max(0, Math.ceil((end - performance.now()) / 1000))} s left`;
    };
    tick();
    this.ticking = window.setInterval(tick, 250);
    const toast = h(
      "div",
      { class: "toast", role: "alert", "aria-live": "assertive", "data-notification-id": current.notificationId },
      h("h2", {}, current.title),
      h(
        "dl",
        {},
        current.fields.flatMap((field) => [h("dt", {}, field.label), h("dd", {}, field.value)]),
      ),
      countdown,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "accept", onclick: () => this.respond(current, true) }, current.acceptText || "Accept"),
        current.showReject &&
          h("button", { type: "button", class: "decline", onclick: () => this.respond(current, false) }, current.rejectText || "Decline"),
      ),
      waiting.length > 0 && h("p", { class: "waiting" }, `${waiting.length} more waiting`),
    );
    fill(this.element, toast);
  }

  /** Draws the agent's eye to a background tab: the title flashes, and a system notification if allowed. */
  private flash(text: string): void {
    if (typeof Notification !== "undefined" && Notification.permission === "granted") {
      new Notification(text);
    }
    if (this.flashing !== undefined) return;
    let on = false;
    this.flashing = window.setInterval(() => {
      on = !on;
      document.title = on ? `(!) ${text}` : this.title;
    }, 1000);
  }

  private stopFlashing(): void {
    window.clearInterval(this.flashing);
    this.flashing = undefined;
    document.title = this.title;
  }
}

function key(toast: Notification): string {
  return `${toast.providerId}/${toast.notificationId}`;
}
