// The alert gauges of one scrape share one store aggregation (sharedFor in collector/metrics.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedFor } from '../../collector/metrics.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sharedFor', () => {
  it('asks once for the calls inside the window and again after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
    let calls = 0;
    const read = sharedFor(1000, () => ++calls);
    const [a, b] = await Promise.all([read(), read()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    vi.setSystemTime(999);
    expect(await read()).toBe(1);
    vi.setSystemTime(1000);
    expect(await read()).toBe(2);
    expect(calls).toBe(2);
  });

  it('does not keep a failure: the next call asks the store again', async () => {
    let calls = 0;
    const read = sharedFor(60_000, () => {
      calls++;
      if (calls === 1) throw new Error('database away');
      return calls;
    });
    await expect(read()).rejects.toThrow('database away');
    expect(await read()).toBe(2);
  });
});
