import { lastValueFrom } from 'rxjs';
import { download, fromEap, microtaskContext, SynchronizationContext, toEap } from 'rxtransfer';
import { startFaultServer, type FaultServer } from '../helpers/fault-server';
import { within } from '../helpers/fault-trace';

/** toEap and fromEap over real transfers, against a real node:http server on 127.0.0.1. */
describe('EAP adapters over real transfers (loopback)', () => {
  let server: FaultServer;
  beforeAll(async () => {
    server = await startFaultServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('E1 E3 E5 two operations at once; one cancelled from its own ProgressChanged handler: its Completed says cancelled, once, on the caller\'s context, and the server sees its connection close; the other completes', async () => {
    const client = toEap({ download: (url: string) => download(url, { responseType: 'arraybuffer', progressInterval: 0 }) });
    const ui = microtaskContext();
    const completed: { userState: unknown; cancelled: boolean; error?: string; bytes?: number; onUi: boolean }[] = [];
    const progressAfterEnd: unknown[] = [];
    client.on('downloadProgressChanged', (e) => {
      if (completed.some((c) => c.userState === e.userState)) progressAfterEnd.push(e.userState);
      if (e.userState === 'slow' && e.progressPercentage > 0) client.cancelAsync('slow');
    });
    const all = new Promise<void>((resolve) =>
      client.on('downloadCompleted', (e) => {
        completed.push({ userState: e.userState, cancelled: e.cancelled, ...(e.error ? { error: e.error.message } : {}), ...(!e.cancelled && !e.error ? { bytes: e.result.data.byteLength } : {}), onUi: SynchronizationContext.current === ui });
        if (completed.length === 2) resolve();
      }),
    );
    SynchronizationContext.run(ui, () => {
      client.downloadAsync(server.url('/bytes', { size: 2_000_000, chunk: 16_384, delay: 20, key: 'eap-slow' }), 'slow');
      client.downloadAsync(server.url('/bytes', { size: 100_000, key: 'eap-fast' }), 'fast');
    });
    await within(all, 10_000, 'both Completed');
    await new Promise((resolve) => setTimeout(resolve, 50)); // anything raised late would land here
    expect(completed.sort((a, b) => String(a.userState).localeCompare(String(b.userState)))).toEqual([
      { userState: 'fast', cancelled: false, bytes: 100_000, onUi: true },
      { userState: 'slow', cancelled: true, onUi: true },
    ]);
    expect(progressAfterEnd).toEqual([]);
    const [slow] = server.requests.filter((r) => r.query.get('key') === 'eap-slow');
    expect(await within(slow!.closedEarly, 3_000, 'the cancelled request still open')).toBe(true);
  });

  it('E12 fromEap(toEap(download)) is the transfer again: the same bytes, and unsubscribing closes the connection', async () => {
    const client = toEap({ download: (url: string) => download(url, { responseType: 'arraybuffer' }) });
    const get = fromEap(client, 'download');
    const done = await lastValueFrom(get(server.url('/bytes', { size: 300_000, key: 'eap-round' })));
    expect(done.type).toBe('done');
    expect(done.type === 'done' && done.result.data.byteLength).toBe(300_000);
    const subscription = get(server.url('/bytes', { size: 2_000_000, chunk: 16_384, delay: 20, key: 'eap-unsub' })).subscribe();
    for (let i = 0; i < 100 && server.hits('eap-unsub') === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    subscription.unsubscribe();
    const [request] = server.requests.filter((r) => r.query.get('key') === 'eap-unsub');
    expect(await within(request!.closedEarly, 3_000, 'the unsubscribed request still open')).toBe(true);
  });
});
