// Runs the whole test suite (`npm test`) while a busy-loop child keeps one core at 100 %, as a loaded
// CI machine would: a test that only passes on an idle machine fails here. Exits with npm test's code.
//   node scripts/test-under-load.mjs            # or: npm run test:loaded
import { spawn, spawnSync } from 'node:child_process';

const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
const stop = () => hog.kill('SIGKILL');
process.on('exit', stop);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
console.log(`busy-loop child ${hog.pid} pins one core while the suite runs`);
const r = spawnSync('npm', ['test', ...process.argv.slice(2)], { stdio: 'inherit' });
stop();
process.exit(r.status ?? 1);
