/**
 * The EAP card: `toEap({ download })` makes a component with `downloadAsync(url, userState)`,
 * `cancelAsync(userState)` and `downloadProgressChanged` / `downloadCompleted` events, listed
 * here as they are raised.
 */
import { download, toEap } from 'rxtransfer';
import { apiUrl, byId, Card, formatBytes, transferId } from './ui.js';

const SIZE = 8 * 1024 * 1024;

export function setUpEapPanel(): void {
  const card = new Card('eap');
  const startButton = byId<HTMLButtonElement>('eap-start');
  const cancel = byId<HTMLButtonElement>('eap-cancel');
  const list = byId<HTMLOListElement>('eap-events');
  const client = toEap({
    download: (url: string) => download(url, { responseType: 'arraybuffer', progressInterval: 150 }),
  });
  let started = 0;
  let jobs = 0;
  let current: string | undefined;

  const log = (text: string, className?: string) => {
    const item = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = `+${((performance.now() - started) / 1000).toFixed(2)} s`;
    item.append(time, text);
    if (className) item.className = className;
    list.append(item);
    list.scrollTop = list.scrollHeight;
  };

  client.on('downloadProgressChanged', (e) => {
    log(`downloadProgressChanged ${e.progressPercentage}% ${formatBytes(e.bytesTransferred)} (${String(e.userState)})`);
  });
  client.on('downloadCompleted', (e) => {
    const what = e.error ? `error=${e.error.name}` : e.cancelled ? 'cancelled=true' : `result.size=${formatBytes(e.result.size)}`;
    log(`downloadCompleted ${what} (${String(e.userState)})`, e.cancelled ? 'cancelled' : e.error ? 'failed' : 'completed');
    if (e.userState !== current) return;
    current = undefined;
    startButton.disabled = false;
    cancel.disabled = true;
    if (e.error) card.set('failed', `${e.error.name}: ${e.error.message}`);
    else if (e.cancelled) card.set('cancelled', 'cancelAsync(): Completed was raised with cancelled = true.');
    else card.set('done', `Completed with a typed result: ${formatBytes(e.result.size)}, HTTP ${e.result.status}.`);
  });

  startButton.addEventListener('click', () => {
    list.replaceChildren();
    started = performance.now();
    current = `job-${++jobs}`;
    card.set('running', `downloadAsync(url, '${current}')…`);
    startButton.disabled = true;
    cancel.disabled = false;
    log(`downloadAsync(url, '${current}')`);
    client.downloadAsync(apiUrl(`/api/bytes?size=${SIZE}&id=${transferId('eap')}&delay=8`), current);
  });

  cancel.addEventListener('click', () => {
    if (current) {
      log(`cancelAsync('${current}')`);
      client.cancelAsync(current);
    }
  });
}
