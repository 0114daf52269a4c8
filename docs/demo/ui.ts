/** Small DOM helpers shared by the demo's panels: cards, their state, numbers. */
import type { TransferProgress } from 'rxtransfer';

/** A card's state, mirrored in its `data-state` attribute (the CSS and the e2e tests read it). */
export type CardState = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';

/** The element with this id; throws when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the demo page has no #${id}`);
  return element as T;
}

/** One card of the page: `#<name>-card` with `#<name>-status`. */
export class Card {
  readonly element: HTMLElement;
  private readonly statusLine: HTMLElement;

  constructor(readonly name: string) {
    this.element = byId(`${name}-card`);
    this.statusLine = byId(`${name}-status`);
  }

  get state(): CardState {
    return (this.element.dataset['state'] as CardState | undefined) ?? 'idle';
  }

  set(state: CardState, status?: string): void {
    this.element.dataset['state'] = state;
    if (status !== undefined) this.statusLine.textContent = status;
  }

  /** Stores a value for the tests and the curious, as `data-<key>`. */
  data(key: string, value: string | number | boolean): void {
    this.element.dataset[key] = String(value);
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** `2.0 MiB / 16.0 MiB · 6.3 MiB/s` */
export function progressText(e: TransferProgress): string {
  const total = e.total === undefined ? '' : ` / ${formatBytes(e.total)}`;
  const rate = e.bytesPerSecond ? ` · ${formatBytes(Math.round(e.bytesPerSecond))}/s` : '';
  return `${formatBytes(e.loaded)}${total}${rate}`;
}

/** A unique id for a transfer, so that the server's counters can be matched to it. */
export function transferId(kind: string): string {
  return `${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An absolute URL on the demo server (transfers take absolute http(s) URLs only). */
export function apiUrl(path: string): string {
  return new URL(path, location.href).href;
}
