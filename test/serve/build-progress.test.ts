import { describe, expect, it } from 'vitest';
import { buildProgressLog } from '../../src/serve/open-backend.ts';

describe("serve's log while it builds a zoo model", () => {
  it('logs the start and each quarter, not a line per progress call', () => {
    const lines: string[] = [];
    const progress = buildProgressLog('resnet-50', (l) => lines.push(l));
    const total = 102_400_000;
    // the writer reports after each tensor: hundreds of calls, many at the same rounded percent
    for (let done = 0; done <= total; done += 250_000) progress(done, total);
    progress(total, total);
    expect(lines).toEqual([
      'building resnet-50 into the model cache (first use)',
      'building resnet-50: 25 %',
      'building resnet-50: 50 %',
      'building resnet-50: 75 %',
      'building resnet-50: 100 %',
    ]);
  });

  it('logs a quarter once even when a call jumps over several', () => {
    const lines: string[] = [];
    const progress = buildProgressLog('tiny', (l) => lines.push(l));
    progress(1, 3);
    progress(3, 3);
    progress(3, 3);
    expect(lines).toEqual(['building tiny into the model cache (first use)', 'building tiny: 25 %', 'building tiny: 100 %']);
  });
});
