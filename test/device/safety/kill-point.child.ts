/**
 * Child process of the kill loop: opens a fake board tree through a fake kernel and, under
 * withDeviceGuard (the guard every clock-writing command uses), applies seeded random
 * configurations one after another, then restores and exits 0. Started with the kill-at-write
 * preload it SIGKILLs itself at a chosen write: mid-apply, mid-restore, or not at all.
 * argv: root, snapshot file, seed, applies.
 */
import { openDevice } from '../../../src/device/open.ts';
import { withDeviceGuard } from '../../../src/device/safety/guard.ts';
import { FakeKernel } from '../../fixtures/hardware/fake-kernel.ts';
import { randomConfig, specOfTree } from '../../fixtures/hardware/kill-loop.ts';

const [root, file, seedText = '1', appliesText = '4'] = process.argv.slice(2);
if (!root || !file) throw new Error('usage: kill-point.child.ts ROOT SNAPSHOT_FILE [SEED] [APPLIES]');
const spec = await specOfTree(root);
const device = await openDevice(spec, { root, io: new FakeKernel(root, { kernel: spec === 'jetson' ? 'old' : 'new' }) });
await withDeviceGuard(
  device,
  async (d) => {
    const domains = await d.domains();
    for (let i = 0; i < Number(appliesText); i++) await d.apply(randomConfig(domains, Number(seedText) * 100 + i));
  },
  { file, log: () => {} },
);
