// The alert gauges of one scrape share one store aggregation (sharedWhilePending in collector/metrics.ts).
import { describe, expect, it } from 'vitest';
import { sharedWhilePending } from '../../collector/metrics.js';

describe('sharedWhilePending', () => {
  it('shares one read among the calls made before it settles, and reads afresh after', async () => {
    let calls = 0;
    const read = sharedWhilePending(() => ++calls);
    const [a, b] = await Promise.all([read(), read()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    expect(await read()).toBe(2);
    expect(calls).toBe(2);
  });

  it('does not keep a failure: the next call asks the store again', async () => {
    let calls = 0;
    const read = sharedWhilePending(() => {
      calls++;
      if (calls === 1) throw new Error('database away');
      return calls;
    });
    await expect(read()).rejects.toThrow('database away');
    expect(await read()).toBe(2);
  });
});
