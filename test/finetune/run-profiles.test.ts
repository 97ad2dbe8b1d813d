import { describe, expect, it } from 'vitest';
import { runProfiles } from '../../src/finetune/simulation/twin-replay.ts';

describe('profiles beside a tuning run', () => {
  it('costs the tuned model at the precision the run recorded, other models as the zoo builds them', () => {
    const profileOf = runProfiles({ model: 'efficientnet-b0', modelSpec: { name: 'efficientnet-b0', dtype: 'fp16' } });
    expect(profileOf('efficientnet-b0').dtype).toBe('fp16');
    expect(profileOf('efficientnet-b0')).toBe(profileOf('efficientnet-b0'));
    expect(profileOf('mobilenet-v2').dtype).toBe('fp32');
    // a run stored before runs recorded their spec: the zoo's defaults
    expect(runProfiles({ model: 'efficientnet-b0' })('efficientnet-b0').dtype).toBe('fp32');
  });
});
