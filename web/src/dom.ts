// A small helper to build DOM elements: h("button", { class: "x", onclick }, "text").

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.replace(/^on/, ""), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren(
    ...children.flat().filter((child): child is Node | string => child !== null && child !== undefined && child !== false),
  );
}

/**
 * A tab list operated as the ARIA tabs pattern asks: only the selected tab is in the page's
 * Tab order; the arrow keys, Home and End move between tabs; Enter or Space activates one
 * (activation is a call to the server, so moving alone does not switch).
 */
export function tablist(label: string, tabs: HTMLElement[]): HTMLElement {
  const selected = tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true");
  tabs.forEach((tab, index) => tab.setAttribute("tabindex", index === Math.max(selected, 0) ? "0" : "-1"));
  const list = h("div", { role: "tablist", "aria-label": label }, tabs);
  list.addEventListener("keydown", (event) => {
    const from = tabs.indexOf(event.target as HTMLElement);
    if (from < 0) return;
    const to = nextTab(event.key, from, tabs.length);
    if (to === undefined) return;
    event.preventDefault();
    tabs[from]!.setAttribute("tabindex", "-1");
    tabs[to]!.setAttribute("tabindex", "0");
    tabs[to]!.focus();
  });
  return list;
}

function nextTab(key: string, from: number, count: number): number | undefined {
  switch (key) {
    case "ArrowRight":
    case "ArrowDown":
      return (from + 1) % count;
    case "ArrowLeft":
    case "ArrowUp":
      return (from - 1 + count) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return undefined;
  }
}
