import type { Command } from 'commander';
import pc from 'picocolors';
import type { DeviceSpec } from '../device/device-spec.ts';
import type { DeviceReport, Inventory } from '../device/inventory.ts';
import { inventory } from '../device/inventory.ts';
import { badInput } from '../core/errors.ts';
import { addTwinOptions, deviceOption, type TwinCliOptions, twinFromOptions } from './support/device-options.ts';
import { action } from './support/run-action.ts';

const mhz = (hz: number) => (hz >= 1e9 ? `${(hz / 1e9).toFixed(hz % 1e7 === 0 ? 2 : 4)} GHz` : `${(hz / 1e6).toFixed(hz % 1e6 === 0 ? 0 : 2)} MHz`);

function table(name: string, values: readonly number[] | undefined): string {
  if (!values || values.length === 0) return `    ${name.padEnd(7)} ${pc.dim('not controllable')}`;
  return `    ${name.padEnd(7)} ${values.length} values, ${mhz(values[0]!)} … ${mhz(values[values.length - 1]!)}\n            ${pc.dim(values.join(' '))} Hz`;
}

export function formatDeviceReport(r: DeviceReport): string {
  const d = r.description;
  const lines: string[] = [];
  lines.push(`${pc.bold(d.name)}  ${pc.dim(`[${d.id}] --device ${r.spec}`)}`);
  const facts = [d.soc && `SoC ${d.soc}`, d.release, d.currentMode && `mode ${d.currentMode}`].filter(Boolean);
  if (facts.length) lines.push(`  ${facts.join(' · ')}`);
  lines.push('  Knobs');
  lines.push(table('cpu', d.knobs.cpuHz), table('gpu', d.knobs.gpuHz), table('emc', d.knobs.emcHz));
  if (d.presets.length)
    lines.push(`  Presets  ${d.presets.map((p) => `${p.name}${p.id === undefined ? '' : `(${p.id})`}${p.budgetW ? ` ${p.budgetW} W` : ''}`).join(', ')}`);
  lines.push('  Sensors');
  if (r.sensors.length === 0) lines.push(`    ${pc.dim('none')}`);
  for (const s of r.sensors) {
    const info = d.rails.find((x) => x.name === s.name);
    const value = s.error ? pc.red(`read failed: ${s.error}`) : `${s.watts!.toFixed(2)} W`;
    lines.push(
      `    ${s.name.padEnd(16)} ${s.role.padEnd(5)} ${value.padEnd(10)} ${pc.dim(`${info?.covers ?? ''}${s.kind === 'energy-counter' ? ' (energy counter)' : ''}`)}`,
    );
  }
  if (d.missing.length) {
    lines.push('  Missing');
    for (const m of d.missing) lines.push(`    ${pc.yellow('-')} ${m.what}: ${m.why}`);
  }
  if (d.warnings.length) {
    lines.push('  Warnings');
    for (const w of d.warnings) lines.push(`    ${pc.yellow('!')} ${w}`);
  }
  return lines.join('\n');
}

export function formatInventory(inv: Inventory): string {
  const out: string[] = ['Detection'];
  for (const c of inv.detection.checks) out.push(`  ${c.found ? pc.green('✓') : pc.dim('·')} ${c.backend.padEnd(9)} ${c.detail}`);
  out.push(`  auto → ${inv.detection.spec}`, '');
  for (const r of inv.devices) out.push(formatDeviceReport(r), '');
  for (const f of inv.failures) out.push(`${pc.red('✗')} ${f.spec}: ${f.error}`);
  return out.join('\n').trimEnd();
}

interface DevicesCliOptions extends Pick<TwinCliOptions, 'runtime' | 'twinProfile'> {
  device?: DeviceSpec;
  sysfsRoot?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('devices')
    .description('show what this machine is: each knob with its frequency table, each sensor and rail, and what is missing and why')
    .addOption(deviceOption('describe only this device (jetson, nvidia, linux-cpu, sim:<board>)'))
    .option('--sysfs-root <dir>', 'read hardware files under this root instead of / (env POLYTHROTTLE_SYSFS_ROOT)')
    .option('--json', 'print JSON');
  addTwinOptions(cmd).action(
    action(async (o: DevicesCliOptions) => {
      // --runtime / --twin-profile describe the twin they shape (its name, its idle sensors); they need a sim board.
      const twinFlags = { ...(o.runtime === undefined ? {} : { runtime: o.runtime }), ...(o.twinProfile === undefined ? {} : { twinProfile: o.twinProfile }) };
      if (Object.keys(twinFlags).length > 0 && o.device === undefined)
        throw badInput('--runtime and --twin-profile shape the device twin', 'use --device sim:<board>');
      const twin = o.device === undefined ? {} : await twinFromOptions(o.device, twinFlags);
      const inv = await inventory({
        ...(o.device ? { spec: o.device } : {}),
        ...(o.sysfsRoot ? { root: o.sysfsRoot } : {}),
        ...(twin.board === undefined ? {} : { simBoard: twin.board }),
      });
      process.stdout.write(o.json ? `${JSON.stringify(inv, null, 2)}\n` : `${formatInventory(inv)}\n`);
      if (inv.devices.length === 0) process.exitCode = 2;
    }),
  );
}
