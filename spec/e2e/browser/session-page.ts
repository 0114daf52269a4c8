/**
 * The page script of `session-idb.spec.ts`: sessions on the default IndexedDB store, driven step by
 * step from the test through `window.idb` (several tabs, reloads, crashes). Every call returns JSON.
 */
import { indexedDbSessionStore, TransferSession, type TaskCompletion, type TaskRecord } from '../../../lib/index.js';

type Session = Awaited<ReturnType<typeof TransferSession.open>>;

interface Opened {
  session: Session;
  completions: { taskId: string; state: string; code?: string; message?: string; truncated?: boolean; size?: number; dataLength?: number; dataHead?: string; path?: string }[];
  pending: Map<string, TaskCompletion>;
  invalidated?: { reason: string; error?: string };
}

const opened = new Map<string, Opened>();

function summary(t: TaskRecord) {
  return { id: t.id, state: t.state, acked: t.acked, bytes: t.bytes, url: t.url };
}

export interface IdbPage {
  env(): { secure: boolean; locks: boolean };
  open(id: string): Promise<{ ok: boolean; error?: { name: string; message: string }; tasks?: ReturnType<typeof summary>[] }>;
  add(id: string, url: string, options?: { id?: string; to?: string; headers?: Record<string, string> }): Promise<ReturnType<typeof summary>>;
  /** `add`, its failure as JSON: a header of `headerBytes` random characters (incompressible), and its error's name and message. */
  tryAdd(id: string, url: string, headerBytes: number): Promise<{ ok: boolean; error?: { name: string; message: string } }>;
  ack(id: string, taskId: string): Promise<void>;
  state(id: string): { tasks: ReturnType<typeof summary>[]; completions: Opened['completions']; invalidated?: Opened['invalidated'] };
  close(id: string): Promise<void>;
  /** Opens the store of session `id` and closes it (every other time with a second close() awaited), `times` times in a row; the errors of the opens that failed. */
  reopenStore(id: string, times: number): Promise<string[]>;
}

const idb: IdbPage = {
  env: () => ({ secure: globalThis.isSecureContext, locks: !!(navigator as { locks?: unknown }).locks }),
  async open(id) {
    try {
      const session = await TransferSession.open({ id, checkpointInterval: 200 });
      const o: Opened = { session, completions: [], pending: new Map() };
      opened.set(id, o);
      session.completions$.subscribe((c) => {
        const data = c.result?.data;
        o.completions.push({
          taskId: c.taskId,
          state: c.state,
          ...(c.error ? { code: String((c.error as { code?: unknown }).code), message: String((c.error as { message?: unknown }).message) } : {}),
          ...(c.result?.size !== undefined ? { size: c.result.size } : {}),
          ...(c.result?.truncated ? { truncated: true } : {}),
          ...(typeof data === 'string' ? { dataLength: data.length, dataHead: data.slice(0, 8) } : {}),
          ...(c.result?.path !== undefined ? { path: c.result.path } : {}),
        });
        o.pending.set(c.taskId, c);
      });
      session.invalidated$.subscribe((v) => (o.invalidated = { reason: v.reason, ...(v.error ? { error: String((v.error as Error).message ?? v.error) } : {}) }));
      return { ok: true, tasks: session.tasks().map(summary) };
    } catch (error) {
      const e = error as Error;
      return { ok: false, error: { name: e.name, message: e.message } };
    }
  },
  async add(id, url, options = {}) {
    return summary(await opened.get(id)!.session.download(url, options));
  },
  async tryAdd(id, url, headerBytes) {
    const random = new Uint8Array(Math.ceil((headerBytes * 3) / 4));
    for (let i = 0; i < random.length; i += 65_536) crypto.getRandomValues(random.subarray(i, i + 65_536));
    let binary = '';
    for (let i = 0; i < random.length; i += 8_192) binary += String.fromCharCode(...random.subarray(i, i + 8_192));
    const value = btoa(binary).slice(0, headerBytes);
    try {
      await opened.get(id)!.session.download(url, { headers: { 'x-padding': value } });
      return { ok: true };
    } catch (error) {
      const e = error as Error;
      return { ok: false, error: { name: e.name, message: e.message } };
    }
  },
  async ack(id, taskId) {
    await opened.get(id)!.session.ack(taskId);
  },
  state(id) {
    const o = opened.get(id)!;
    return { tasks: o.session.tasks().map(summary), completions: o.completions, ...(o.invalidated ? { invalidated: o.invalidated } : {}) };
  },
  async close(id) {
    await opened.get(id)?.session.close();
    opened.delete(id);
  },
  async reopenStore(id, times) {
    const store = indexedDbSessionStore();
    const errors: string[] = [];
    for (let i = 0; i < times; i++) {
      try {
        const handle = await store.open(id);
        const first = handle.close();
        // Every other time closed twice, only the second call awaited: it waits for the same release.
        await (i % 2 === 1 ? handle.close() : first);
      } catch (error) {
        errors.push(`open ${i + 1}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    return errors;
  },
};

declare global {
  interface Window {
    idb: IdbPage;
    idbReady: boolean;
  }
}
window.idb = idb;
window.idbReady = true;
