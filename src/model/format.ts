/** Plain-text rendering of zoo listings and analyses for the CLI. */
import type { ModelAnalysis, NodeAnalysis } from './analyze.ts';
import type { ZooModel } from './zoo/index.ts';

const SI = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

/** 5267540 → "5.27 M"; keeps three significant digits. */
export function si(n: number, unit = ''): string {
  for (const [f, p] of SI) if (Math.abs(n) >= f) return `${(n / f).toPrecision(3)} ${p}${unit}`;
  return `${Number.isInteger(n) ? n : n.toPrecision(3)}${unit ? ` ${unit}` : ''}`;
}

export const bytes = (n: number): string => si(n, 'B');

function table(head: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(w[i] as number) : c.padEnd(w[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function formatZooList(models: readonly ZooModel[]): string {
  const rows = models.map((m) => [m.name, si(m.params), `${(m.macs / 1e9).toFixed(3)} G`, m.nativeInput, m.description]);
  return table(['model', 'params', 'MACs/sample', 'native input', 'description'], rows, new Set([1, 2]));
}

const nodeRow = (n: NodeAnalysis, total: number): string[] => [
  n.name.length > 48 ? `…${n.name.slice(-47)}` : n.name,
  n.opType,
  n.outputShape,
  si(n.macs),
  total > 0 ? `${((100 * n.flops) / total).toFixed(1)}%` : '-',
  bytes(n.weightBytes),
  bytes(n.activationBytesRead + n.activationBytesWritten),
  n.arithmeticIntensity.toFixed(1),
];

/** The inspect report: totals, top operators by FLOPs, per-op-type summary, unmodelled ops. */
export function formatAnalysis(a: ModelAnalysis, top = 10): string {
  const t = a.totals;
  const out: string[] = [];
  out.push(
    `${a.model}: ${a.nodeCount} nodes, ${si(a.params)} parameters (${bytes(a.parameterBytes)}), ${a.dtype}, IR ${a.irVersion}, opset ${a.opset}${a.producer ? `, by ${a.producer}` : ''}`,
  );
  out.push(`inputs:  ${a.inputs.map((i) => `${i.name} ${i.elemType}[${i.shape}]`).join(', ')}`);
  out.push(`outputs: ${a.outputs.map((i) => `${i.name} ${i.elemType}[${i.shape}]`).join(', ')}`);
  out.push('');
  out.push(`at batch ${a.batch}${a.symbolicBatch || a.batchOverridden ? '' : ' (fixed by the model)'}:`);
  out.push(`  MACs           ${si(t.macs)}   (${si(t.macs / a.batch)} per sample)`);
  out.push(`  FLOPs          ${si(t.flops)}`);
  out.push(`  weights read   ${bytes(t.weightBytes)}`);
  out.push(`  activations    ${bytes(t.activationBytesRead)} read, ${bytes(t.activationBytesWritten)} written`);
  out.push(`  intensity      ${t.arithmeticIntensity.toFixed(1)} FLOP/byte`);
  out.push(`  pre-processing ${si(a.profile.preprocessCyclesPerSample)} CPU cycles per sample`);
  for (const n of a.notes) out.push(`  note: ${n}`);
  out.push('');
  const byFlops = [...a.nodes].sort((x, y) => y.flops - x.flops || y.activationBytesRead - x.activationBytesRead).slice(0, top);
  out.push(`top ${byFlops.length} operators by FLOPs:`);
  out.push(
    table(
      ['node', 'op', 'output', 'MACs', 'FLOPs', 'weights', 'act. bytes', 'FLOP/B'],
      byFlops.map((n) => nodeRow(n, t.flops)),
      new Set([3, 4, 5, 6, 7]),
    ),
  );
  out.push('');
  const types = new Map<string, { count: number; macs: number; flops: number; bytes: number }>();
  for (const n of a.nodes) {
    const e = types.get(n.opType) ?? { count: 0, macs: 0, flops: 0, bytes: 0 };
    e.count++;
    e.macs += n.macs;
    e.flops += n.flops;
    e.bytes += n.weightBytes + n.activationBytesRead + n.activationBytesWritten;
    types.set(n.opType, e);
  }
  const typeRows = [...types.entries()]
    .sort((x, y) => y[1].flops - x[1].flops || y[1].bytes - x[1].bytes)
    .map(([op, e]) => [
      op,
      String(e.count),
      si(e.macs),
      t.flops > 0 ? `${((100 * e.flops) / t.flops).toFixed(1)}%` : '-',
      bytes(e.bytes),
      t.bytes > 0 ? `${((100 * e.bytes) / t.bytes).toFixed(1)}%` : '-',
    ]);
  out.push('by operator type:');
  out.push(table(['op', 'nodes', 'MACs', 'FLOPs', 'bytes', 'of bytes'], typeRows, new Set([1, 2, 3, 4, 5])));
  out.push('');
  if (a.unmodelled.length === 0) out.push('unmodelled ops: none');
  else {
    out.push('unmodelled ops (counted for the bytes they move only):');
    for (const u of a.unmodelled) out.push(`  ${u.opType} ×${u.count}: ${u.reason} (${u.nodes.slice(0, 3).join(', ')}${u.nodes.length > 3 ? ', …' : ''})`);
  }
  if (a.shapeFailures.length > 0) {
    out.push(`shape inference failed at ${a.shapeFailures.length} node(s), e.g. ${a.shapeFailures[0]?.node}: ${a.shapeFailures[0]?.reason}`);
  }
  return out.join('\n');
}
