// DOM helpers for the console. Every string reaches the page through textContent or an attribute value, never as
// HTML: AE titles, client ids and titles come from packets an attacker may craft (issue 10).

export type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string | undefined;
  id?: string | undefined;
  href?: string | undefined;
  title?: string | undefined;
  type?: string | undefined;
  name?: string | undefined;
  value?: string | undefined;
  placeholder?: string | undefined;
  for?: string | undefined;
  colspan?: string | undefined;
  disabled?: boolean | undefined;
  hidden?: boolean | undefined;
  checked?: boolean | undefined;
  data?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (e: HTMLElementEventMap[K]) => void }>;
}

/** An element with text children (as text nodes) and attributes; no HTML parsing anywhere. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs) as Array<[keyof Attrs, Attrs[keyof Attrs]]>) {
    if (v === undefined || v === false) continue;
    if (k === 'data') {
      for (const [dk, dv] of Object.entries(v as Record<string, string>)) el.dataset[dk] = dv;
    } else if (k === 'on') {
      for (const [ev, fn] of Object.entries(v as Record<string, EventListener>)) el.addEventListener(ev, fn);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of `el`. */
export function fill(el: Node, ...children: Child[]): void {
  el.textContent = '';
  append(el, ...children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}
