import { memorySessionStore } from '../../lib/internal/session/memory-store';
import type { TaskRecord } from '../../lib/internal/session/session-task';

const task = (id: string, extra: object = {}) => ({ id, kind: 'download', url: 'http://127.0.0.1/a', to: '/a', priority: 0, seq: 1, createdAt: 0, state: 'queued', acked: false, ...extra }) as TaskRecord;

describe('memory session store', () => {
  it('S9 a batch with a change that cannot be stored is stored not at all, and fails with that error (as the IndexedDB store)', async () => {
    const store = memorySessionStore();
    const handle = await store.open('batch');
    const error = await handle.write([{ type: 'put', task: task('a') }, { type: 'put', task: task('b', { result: { data: () => 1 } }) }]).catch((e: unknown) => e);
    expect((error as Error)?.name).toBe('DataCloneError');
    await handle.close();
    const reopened = await store.open('batch');
    expect(reopened.tasks).toEqual([]);
    await reopened.close();
  });
});
