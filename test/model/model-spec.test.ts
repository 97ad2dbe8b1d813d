import { describe, expect, it } from 'vitest';
import { modelSpecOf, profileForSpec, runModelSpec } from '../../src/model/model-spec.ts';
import { BERT_DEFAULT_SEQ, zooProfile } from '../../src/model/zoo/index.ts';

describe('model spec', () => {
  it('completes a name with the precision and sequence length the runners build it at', () => {
    expect(modelSpecOf('efficientnet-b0')).toEqual({ name: 'efficientnet-b0', dtype: 'fp32' });
    expect(modelSpecOf('efficientnet-b0', { dtype: 'fp16' })).toEqual({ name: 'efficientnet-b0', dtype: 'fp16' });
    expect(modelSpecOf('bert-base')).toEqual({ name: 'bert-base', dtype: 'fp32', seq: BERT_DEFAULT_SEQ });
    expect(modelSpecOf('bert-tiny', { seq: 64, dtype: 'fp16' })).toEqual({ name: 'bert-tiny', dtype: 'fp16', seq: 64 });
    expect(modelSpecOf('my-model.onnx')).toEqual({ name: 'my-model.onnx', dtype: 'fp32' });
    expect(() => modelSpecOf('resnet-50', { seq: 64 })).toThrow(/sequence length applies to the BERT models only/);
  });

  it('reads a run’s recorded spec, and the defaults for a run without one', () => {
    const spec = { name: 'bert-tiny', dtype: 'fp16', seq: 32 } as const;
    expect(runModelSpec({ model: 'bert-tiny', modelSpec: spec })).toBe(spec);
    expect(runModelSpec({ model: 'bert-tiny' })).toEqual({ name: 'bert-tiny', dtype: 'fp32', seq: BERT_DEFAULT_SEQ });
  });

  it('rebuilds the zoo profile at the spec’s precision and sequence length', () => {
    const fp16 = profileForSpec({ name: 'efficientnet-b0', dtype: 'fp16' });
    expect(fp16.dtype).toBe('fp16');
    expect(fp16).toEqual(zooProfile('efficientnet-b0', { dtype: 'fp16' }));
    expect(fp16).not.toEqual(profileForSpec({ name: 'efficientnet-b0', dtype: 'fp32' }));
    expect(profileForSpec({ name: 'bert-tiny', dtype: 'fp32', seq: 32 })).toEqual(zooProfile('bert-tiny', { seq: 32 }));
    expect(() => profileForSpec({ name: 'my-model.onnx', dtype: 'fp32' })).toThrow(/not a zoo model/);
  });
});
