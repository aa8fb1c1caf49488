import { fileURLToPath } from 'node:url';

/** Where the Vite build of the console goes (outside git), and where the API serves it from. */
export const CONSOLE_DIST_DIR = fileURLToPath(new URL('../dist/', import.meta.url));
/** The package's root: index.html and the app's sources. */
export const CONSOLE_ROOT = fileURLToPath(new URL('../', import.meta.url));
