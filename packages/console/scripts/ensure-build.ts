// `npm start` / `npm test` run this first: builds the console when its bundle is missing or stale.
import { ensureConsoleBuild } from '../src/build.js';

const { built, ms } = await ensureConsoleBuild({ force: process.argv.includes('--force'), log: (line) => console.error(line) });
if (built) console.error(`opentrail: web console built in ${ms} ms`);
