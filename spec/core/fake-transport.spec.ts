import { download } from 'rxtransfer';
import { FakeTransport, recordTransfer } from 'rxtransfer/testing';

describe('FakeTransport (rxtransfer/testing)', () => {
  it('respond() after end() answers the head with an empty body, as FakeRequest documents', async () => {
    const fake = new FakeTransport();
    const recording = recordTransfer(download('https://example.com/a', { transport: fake, responseType: 'text' }));
    const request = await fake.next();
    request.end().respond({ status: 200 });
    const last = (await recording.ended).at(-2);
    expect(last?.kind === 'next' && last.value.type === 'done' && last.value.result.data).toBe('');
  });
});
