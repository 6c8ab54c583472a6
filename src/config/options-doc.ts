/**
 * Renders docs/options.md from the options table. `npm run docs` writes it; a
 * unit test fails when the committed file differs from what this produces.
 */
import { OPTIONS, SECTIONS, type OptionSpec } from './options.js';
import { defaultText } from '../cli/yargs-options.js';

function signature(spec: OptionSpec): string {
  return spec.valueName ? `--${spec.flag} ${spec.valueName}` : `--${spec.flag}`;
}

function entry(spec: OptionSpec): string {
  const def = defaultText(spec);
  const lines = [`### \`${signature(spec)}\``, '', spec.help];
  if (spec.aliases) lines.push('', `Also spelled ${spec.aliases.map((a) => `\`--${a}\``).join(', ')}.`);
  if (spec.docs) lines.push('', spec.docs);
  const shown = def === undefined ? 'off' : spec.defaultText !== undefined ? def : `\`${def}\``;
  lines.push('', `Default: ${shown}.`);
  if (spec.kind === 'list' || spec.kind === 'pairs') lines.push(' Repeatable.');
  return lines.join('\n').replace('.\n Repeatable.', '. Repeatable.');
}

export function renderOptionsDoc(): string {
  const out = [
    '# tsgi-express start-server options',
    '',
    '<!-- Generated from src/config/options.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Usage: `tsgi-express start-server [SCRIPT] [options]`. Every option takes `--option value`',
    'or `--option=value`. A bad flag or value stops the server before anything starts, with one',
    'line naming the flag and the reason, and exit code 2.',
    '',
  ];
  for (const section of SECTIONS) {
    const specs = (OPTIONS as readonly OptionSpec[]).filter((o) => o.section === section);
    if (specs.length === 0) continue;
    out.push(`## ${section}`, '');
    for (const spec of specs) out.push(entry(spec), '');
  }
  return out.join('\n');
}
