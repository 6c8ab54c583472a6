/** `npm run docs`: writes docs/options.md from the options table. */
import { writeFileSync } from 'node:fs';
import { renderOptionsDoc } from '../config/options-doc.js';

writeFileSync(new URL('../../docs/options.md', import.meta.url), renderOptionsDoc());
