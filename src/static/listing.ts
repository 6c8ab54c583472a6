/**
 * --directory-listing: an HTML index of a directory, as Apache's mod_autoindex
 * draws it with FancyIndexing: name, last modified, size; sorted by name, or by
 * the column the `?C=N|M|S;O=A|D` query names, as Apache's column links do.
 * Names are HTML-escaped in the text and percent-encoded in the links; hidden
 * entries (dotfiles), names that are not UTF-8, and symlinks leading out of the
 * root (unless --follow-symlinks) are left out.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { escapeHtml, fill, template } from '../pipeline/templates.js';
import type { Root, Site } from './site.js';

interface Entry {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(raw: Buffer): string | undefined {
  try {
    return UTF8.decode(raw);
  } catch {
    return undefined;
  }
}

/** Apache's apr_strfsize: bytes below 1K as they are, then one decimal below 10, else whole units. */
export function formatSize(bytes: number): string {
  if (bytes < 973) return String(bytes);
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 973 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (value < 9.95 ? value.toFixed(1) : String(Math.round(value))) + units[unit];
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `2026-01-31 14:05`, the server's local time, as Apache shows it. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

async function readEntries(site: Site, root: Root, dir: string): Promise<Entry[]> {
  const dirents = await fs.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  const entries = await Promise.all(dirents.map(async (dirent): Promise<Entry | undefined> => {
    const name = decodeName(dirent.name);
    if (name === undefined || name.startsWith('.')) return undefined;
    const file = path.join(dir, name);
    if (dirent.isSymbolicLink() && !(await site.listable(root, file))) return undefined;
    const stats = await fs.stat(file).catch(() => undefined);
    if (stats === undefined || (!stats.isFile() && !stats.isDirectory())) return undefined;
    return { name, dir: stats.isDirectory(), size: stats.size, mtimeMs: stats.mtimeMs };
  }));
  return entries.filter((e): e is Entry => e !== undefined);
}

type Column = 'N' | 'M' | 'S';

/** `C=M;O=D` (or with `&`): the column and order asked for; name, ascending by default. */
export function parseSort(query: string): { column: Column; descending: boolean } {
  const column = /(?:^|[;&])C=([NMS])/.exec(query)?.[1] as Column | undefined;
  return { column: column ?? 'N', descending: /(?:^|[;&])O=D/.test(query) };
}

function byName(a: Entry, b: Entry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function sortEntries(entries: Entry[], column: Column, descending: boolean): Entry[] {
  const key = column === 'M' ? (e: Entry) => e.mtimeMs : column === 'S' ? (e: Entry) => (e.dir ? -1 : e.size) : undefined;
  entries.sort((a, b) => {
    const order = key === undefined ? byName(a, b) : key(a) - key(b) || byName(a, b);
    return descending ? -order : order;
  });
  return entries;
}

function row(entry: Entry): string {
  const href = escapeHtml(encodeURIComponent(entry.name) + (entry.dir ? '/' : ''));
  const text = escapeHtml(entry.name + (entry.dir ? '/' : ''));
  const size = entry.dir ? '-' : formatSize(entry.size);
  return `<tr><td><a href="${href}">${text}</a></td><td>${formatDate(entry.mtimeMs)}</td><td class="size">${size}</td></tr>\n`;
}

/** The listing page of `dir`, shown at URL path `urlPath` (decoded, ending in '/'). */
export async function renderListing(site: Site, root: Root, dir: string, urlPath: string, query: string): Promise<string> {
  const { column, descending } = parseSort(query);
  const entries = sortEntries(await readEntries(site, root, dir), column, descending);
  const parent = urlPath === '/' ? '' : '<tr><td><a href="../">Parent Directory</a></td><td></td><td class="size">-</td></tr>\n';
  const flip = (c: Column) => (c === column && !descending ? 'D' : 'A');
  return fill(template('listing.html'), {
    path: escapeHtml(urlPath),
    rows: parent + entries.map(row).join(''),
    orderN: flip('N'),
    orderM: flip('M'),
    orderS: flip('S'),
  });
}
