import { describe, expect, it } from 'vitest';
import { totalBytes, totalMacsPerSample } from '../../src/core/workload-profile.ts';
import { ZOO_MODELS, zooAnalysis, zooProfile } from '../../src/model/zoo/index.ts';

// Published sizes (the papers / reference implementations), checked through the analyser.
const PARAMS: Record<string, number> = {
  'efficientnet-b0': 5.3e6,
  'efficientnet-b4': 19e6,
  'efficientnet-b7': 66e6,
  'mobilenet-v2': 3.5e6,
  'resnet-50': 25.6e6,
  'bert-base': 110e6,
  'bert-large': 340e6,
};
const MACS: Record<string, number> = {
  'efficientnet-b0': 0.39e9,
  'efficientnet-b4': 4.2e9,
  'efficientnet-b7': 37e9,
  'resnet-50': 4.1e9,
};

describe('zoo sizes match the published numbers', () => {
  for (const [name, published] of Object.entries(PARAMS)) {
    it(`${name} has ${published / 1e6} M parameters within 2 %`, () => {
      const a = zooAnalysis(name);
      expect(Math.abs(a.params / published - 1)).toBeLessThan(0.02);
    });
  }
  for (const [name, published] of Object.entries(MACS)) {
    it(`${name} does ${published / 1e9} GMACs at its native resolution within 10 %`, () => {
      const a = zooAnalysis(name);
      expect(a.unmodelled).toEqual([]);
      expect(Math.abs(a.totals.macs / published - 1)).toBeLessThan(0.1);
    });
  }

  it('scales EfficientNet monotonically from B0 to B7 in params, MACs and resolution', () => {
    const effs = ZOO_MODELS.filter((m) => m.family === 'efficientnet');
    expect(effs.map((m) => m.name)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `efficientnet-b${i}`));
    for (let i = 1; i < effs.length; i++) {
      const [a, b] = [effs[i - 1], effs[i]] as [(typeof effs)[0], (typeof effs)[0]];
      expect(b.params).toBeGreaterThan(a.params);
      expect(b.macs).toBeGreaterThan(a.macs);
      expect(b.inputShape[1] as number).toBeGreaterThan(a.inputShape[1] as number);
    }
  });

  it('grows BERT cost with the sequence length while the parameters stay', () => {
    const s64 = zooAnalysis('bert-base', { seq: 64 });
    const s256 = zooAnalysis('bert-base', { seq: 256 });
    expect(s256.params).toBe(s64.params);
    // Dense layers are linear in L, attention quadratic: a little more than 4×.
    const ratio = s256.totals.macs / s64.totals.macs;
    expect(ratio).toBeGreaterThan(4);
    expect(ratio).toBeLessThan(4.6);
  });
});

describe('zooProfile', () => {
  it('gives per-sample costs that add up to the analysis and weights read once per batch', () => {
    const p = zooProfile('resnet-50');
    expect(p.model).toBe('resnet-50');
    expect(p.dtype).toBe('fp32');
    expect(totalMacsPerSample(p)).toBeCloseTo(zooAnalysis('resnet-50').totals.macs, -3);
    const weights = p.ops.reduce((s, o) => s + o.weightBytes, 0);
    expect(weights / (p.params * 4)).toBeGreaterThan(0.99);
    expect(weights / (p.params * 4)).toBeLessThan(1.01);
    // Bytes grow with the batch only through activations.
    const perSampleActs = p.ops.reduce((s, o) => s + o.activationBytesReadPerSample + o.activationBytesWrittenPerSample, 0);
    expect(totalBytes(p, 8) - totalBytes(p, 1)).toBeCloseTo(7 * perSampleActs, -2);
    expect(p.inputBytesPerSample).toBe(3 * 224 * 224 * 4);
    expect(p.ops.every((o) => o.modelled)).toBe(true);
  });

  it('halves the weight bytes in fp16 and keeps the MACs', () => {
    const f32 = zooProfile('efficientnet-b0');
    const f16 = zooProfile('efficientnet-b0', { dtype: 'fp16' });
    expect(f16.dtype).toBe('fp16');
    const w = (p: typeof f32) => p.ops.reduce((s, o) => s + o.weightBytes, 0);
    expect(w(f16) / w(f32)).toBeCloseTo(0.5, 2);
    expect(totalMacsPerSample(f16)).toBe(totalMacsPerSample(f32));
  });

  it('prices image pre-processing by pixels and BERT pre-processing by tokens', () => {
    const b0 = zooProfile('efficientnet-b0').preprocessCyclesPerSample;
    const b7 = zooProfile('efficientnet-b7').preprocessCyclesPerSample;
    expect(b0).toBeGreaterThan(1e6);
    expect(b7 / b0).toBeCloseTo((600 * 600) / (224 * 224), 1);
    const bert128 = zooProfile('bert-base').preprocessCyclesPerSample;
    const bert256 = zooProfile('bert-base', { seq: 256 }).preprocessCyclesPerSample;
    expect(bert128).toBeGreaterThan(0);
    expect(bert256).toBe(2 * bert128);
    expect(bert128).toBeLessThan(b0);
  });

  it('counts embedding lookups by the rows gathered, not the whole table', () => {
    const p = zooProfile('bert-base');
    const word = p.ops.find((o) => o.name.includes('embeddings.word'));
    expect(word).toBeDefined();
    expect(word?.weightBytes).toBe(0);
    expect(word?.activationBytesWrittenPerSample).toBe(128 * 768 * 4);
  });

  it('rejects unknown names with the list of models', () => {
    expect(() => zooProfile('efficientnet-b9')).toThrow(/unknown zoo model 'efficientnet-b9'/);
  });
});
