/**
 * The animation-frame card: ONE download, shared by two subscribers. The first draws every
 * event as it arrives; the second gets the same events through `observeOnContext` with
 * `animationFrameContext()`: delivered just before a paint, all events of a frame in one batch,
 * with `SynchronizationContext.current` being the frame context.
 */
import { animationFrameContext, download, observeOnContext, SynchronizationContext } from 'rxtransfer';
import { share, type Subscription } from 'rxjs';
import { apiUrl, byId, Card, formatBytes, transferId } from './ui.js';

const SIZE = 16 * 1024 * 1024;

export function setUpFramesPanel(): void {
  const card = new Card('frames');
  const startButton = byId<HTMLButtonElement>('frames-start');
  const cancel = byId<HTMLButtonElement>('frames-cancel');
  const rawBar = byId<HTMLProgressElement>('frames-raw-bar');
  const rawNumbers = byId('frames-raw');
  const frameBar = byId<HTMLProgressElement>('frames-bar');
  const frameNumbers = byId('frames-numbers');
  const frames = animationFrameContext();
  let subscriptions: Subscription[] = [];

  const stop = () => {
    for (const s of subscriptions) s.unsubscribe();
    subscriptions = [];
    startButton.disabled = false;
    cancel.disabled = true;
  };

  startButton.addEventListener('click', () => {
    stop();
    const id = transferId('frames');
    card.data('downloadId', id);
    card.set('running', `Downloading ${formatBytes(SIZE)}, delivered twice…`);
    startButton.disabled = true;
    cancel.disabled = false;
    let rawEvents = 0;
    let frameEvents = 0;
    let frameBatches = 0;
    let inBatch = false;
    let allInContext = true;

    const transfer = download(apiUrl(`/api/bytes?size=${SIZE}&id=${encodeURIComponent(id)}&delay=4`), { responseType: 'arraybuffer', progressInterval: 0 }).pipe(share());

    subscriptions.push(
      transfer.subscribe({
        next: (e) => {
          rawEvents++;
          if (e.type === 'progress') rawBar.value = e.percent ?? 0;
          rawNumbers.textContent = `${rawEvents} events`;
        },
        error: () => undefined, // reported by the frame subscriber below
      }),
    );

    subscriptions.push(
      transfer.pipe(observeOnContext(frames)).subscribe({
        next: (e) => {
          frameEvents++;
          if (SynchronizationContext.current !== frames) allInContext = false;
          if (!inBatch) {
            // The first delivery of this frame: every later one until the microtask is the same batch.
            frameBatches++;
            inBatch = true;
            queueMicrotask(() => (inBatch = false));
          }
          if (e.type === 'progress') frameBar.value = e.percent ?? 0;
          frameNumbers.textContent = `${frameEvents} events in ${frameBatches} frames`;
        },
        error: (error: Error) => {
          stop();
          card.set('failed', `${error.name}: ${error.message}`);
        },
        complete: () => {
          card.data('inContext', allInContext);
          card.data('frames', frameBatches);
          card.data('events', frameEvents);
          card.set(
            allInContext ? 'done' : 'failed',
            `${frameEvents} events delivered in ${frameBatches} animation frames; SynchronizationContext.current was the frame context ${allInContext ? 'every time' : 'NOT every time'}.`,
          );
          stop();
        },
      }),
    );
  });

  cancel.addEventListener('click', () => {
    stop();
    card.set('cancelled', 'Cancelled: both subscribers left, so the shared request was aborted.');
  });
}
