// Frames the desk hosts: every admitted provider's widget (all loaded, one shown) and website
// tabs. A frame on the desk's own origin could read the agent's credential from session
// storage, so such URLs are refused, as are URLs that are not http(s).

import { h } from "./dom.js";
import type { DeskProvider } from "../../clients/typescript/src/web.js";

/** Why the desk will not frame `url`, or undefined when it may. */
export function refusal(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "not an http(s) URL";
  if (parsed.origin === window.location.origin) {
    return "on the desk's own origin, where it could read the agent's credential";
  }
  return undefined;
}

/** What a softphone needs: microphone and camera, autoplay for ringing, the clipboard. */
const WIDGET_ALLOW = "microphone; camera; autoplay; clipboard-read; clipboard-write; display-capture";
/** Scripts and forms, popups, and the frame's real origin (for the widget library's checks). */
const WIDGET_SANDBOX =
  "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads";
const TAB_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox";

/**
 * The communication panel's widget frames, one per admitted provider, kept loaded while the
 * provider stays admitted (a softphone must keep running while hidden); only the visible
 * provider's is shown. `active` false: another browser tab of this agent runs the widgets,
 * so this one loads none (a softphone never rings twice).
 */
export class WidgetFrames {
  private frames = new Map<string, { url: string; element: HTMLElement }>();
  readonly element = h("div", { class: "widgets" });

  update(providers: DeskProvider[], visible: string, active: boolean): void {
    const wanted = new Map(active ? providers.map((p) => [p.providerId, p] as const) : []);
    for (const [id, frame] of this.frames) {
      const provider = wanted.get(id);
      if (!provider || provider.channelUrl !== frame.url) {
        frame.element.remove();
        this.frames.delete(id);
      }
    }
    for (const provider of wanted.values()) {
      if (!this.frames.has(provider.providerId)) {
        const element = widgetFrame(provider);
        this.frames.set(provider.providerId, { url: provider.channelUrl, element });
        this.element.append(element);
      }
    }
    for (const [id, frame] of this.frames) {
      frame.element.hidden = id !== visible;
    }
  }

  /** The frame of a provider's widget, if loaded. */
  frame(providerId: string): HTMLIFrameElement | undefined {
    return this.frames.get(providerId)?.element.querySelector("iframe") ?? undefined;
  }
}

function widgetFrame(provider: DeskProvider): HTMLElement {
  const refused = refusal(provider.channelUrl);
  const body = refused
    ? h("p", { class: "refused" }, `This widget's URL is refused: ${refused}.`)
    : h("iframe", {
        src: provider.channelUrl,
        title: `${provider.label} widget`,
        allow: WIDGET_ALLOW,
        sandbox: WIDGET_SANDBOX,
        referrerpolicy: "no-referrer",
      });
  return h(
    "section",
    { class: "widget", "data-provider-id": provider.providerId, "aria-label": `${provider.label} widget` },
    h("h2", { class: "widget-label" }, provider.label),
    body,
  );
}

/** A website tab's page in a frame, with a link for sites that refuse to be framed. */
export function websiteFrame(tabId: string, title: string, url: string): HTMLElement {
  const refused = refusal(url);
  if (refused) {
    return h("p", { class: "refused" }, `This tab's URL is refused: ${refused}.`);
  }
  return h(
    "div",
    { class: "website" },
    h("iframe", {
      src: url,
      title,
      sandbox: TAB_SANDBOX,
      referrerpolicy: "no-referrer",
      "data-tab-id": tabId,
    }),
    h(
      "p",
      { class: "fallback" },
      "Page not showing? Some sites refuse to be framed: ",
      h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "open it in a new window"),
      ".",
    ),
  );
}
