export { CONSOLE_DIST_DIR } from './dist.js';
export { ensureConsoleBuild } from './build.js';
