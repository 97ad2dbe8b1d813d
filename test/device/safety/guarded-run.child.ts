/**
 * Child process for the fault-injection tests: opens a fake Jetson tree through a fake kernel,
 * changes clocks under withDeviceGuard, prints APPLIED, then waits to be killed, interrupted, or
 * throws (argv: root, snapshot file, mode = wait | throw).
 */
import { openDevice } from '../../../src/device/open.ts';
import { withDeviceGuard } from '../../../src/device/safety/guard.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';

const [root, file, mode = 'wait'] = process.argv.slice(2);
if (!root || !file) throw new Error('usage: guarded-run.child.ts ROOT SNAPSHOT_FILE [wait|throw]');
const device = await openDevice('jetson', { root, io: new FakeKernel(root, { kernel: 'old' }) });
await withDeviceGuard(
  device,
  async (d) => {
    const gpu = (await d.domains()).gpuHz!;
    await d.apply({ gpuMinHz: gpu[gpu.length - 1], gpuMaxHz: gpu[gpu.length - 1], emcHz: 204000000, cpuHz: 652800000 });
    process.stdout.write('APPLIED\n');
    if (mode === 'throw')
      setTimeout(() => {
        throw new Error('boom in the middle of a run');
      }, 20);
    await new Promise(() => setInterval(() => {}, 1000));
  },
  { file },
);
