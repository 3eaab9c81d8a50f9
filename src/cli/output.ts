// Printing only: tables, JSON and spinners. Commands compute data; this turns it into text.

export { formatBytes, formatInteger, formatTime } from '../format.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printNotice(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface TableOptions {
  /** Column indexes that may be cut (with `…`) to fit the terminal, widest-first. */
  shrinkable?: number[];
  /** Column indexes dropped, in this order, while the table is too wide even before anything is cut. */
  dropFirst?: number[];
  /** Column indexes dropped, in this order, when cutting is not enough. */
  droppable?: number[];
  /** `--wide`: every column at full width, whatever the terminal. */
  wide?: boolean;
}

/** Columns of the terminal stdout prints to: `$COLUMNS` if set, else the TTY's; undefined for a pipe. */
function terminalWidth(): number | undefined {
  const fromEnv = Number(process.env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/** Narrowest a cut column gets: its heading, and never below this. */
const MIN_CUT_WIDTH = 10;

export async function renderTable(head: string[], rows: string[][], options: TableOptions = {}): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const colour = process.stdout.isTTY === true && process.stdout.hasColors?.() === true;
  const width = options.wide ? undefined : terminalWidth();
  const { columns, colWidths } = fitColumns(head, rows, width, options);
  const table = new Table({
    head: columns.map((i) => head[i]!),
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: colour ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
    ...(colWidths ? { colWidths } : {}),
  });
  table.push(...rows.map((row) => columns.map((i) => row[i] ?? '')));
  return table.toString();
}

/**
 * Which columns to show, and how wide, for the table to fit in `width` characters: drop the
 * dropFirst columns in order while it does not fit uncut; then the droppable columns in order
 * while it cannot fit even with every shrinkable column cut to its minimum; then cut the widest
 * shrinkable column one character at a time.
 */
function fitColumns(head: string[], rows: string[][], width: number | undefined, options: TableOptions): { columns: number[]; colWidths?: number[] } {
  const all = head.map((_, i) => i);
  if (width === undefined) return { columns: all };
  // Each cell is padded by one space either side, and each column has one border to its left.
  const natural = all.map((i) => Math.max(head[i]!.length, ...rows.map((row) => longestLine(row[i] ?? ''))) + 2);
  const shrinkable = new Set(options.shrinkable ?? []);
  const minimum = (i: number) => (shrinkable.has(i) ? Math.min(natural[i]!, Math.max(head[i]!.length + 2, MIN_CUT_WIDTH)) : natural[i]!);
  const total = (columns: number[], widthOf: (i: number) => number) => columns.reduce((sum, i) => sum + widthOf(i), 0) + columns.length + 1;
  let columns = all;
  for (const drop of options.dropFirst ?? []) {
    if (total(columns, (i) => natural[i]!) <= width) break;
    columns = columns.filter((i) => i !== drop);
  }
  for (const drop of options.droppable ?? []) {
    if (total(columns, minimum) <= width) break;
    columns = columns.filter((i) => i !== drop);
  }
  const widths = new Map(columns.map((i) => [i, natural[i]!]));
  while (total(columns, (i) => widths.get(i)!) > width) {
    const widest = columns.filter((i) => shrinkable.has(i) && widths.get(i)! > minimum(i)).sort((a, b) => widths.get(b)! - widths.get(a)!)[0];
    if (widest === undefined) break;
    widths.set(widest, widths.get(widest)! - 1);
  }
  return { columns, colWidths: columns.map((i) => widths.get(i)!) };
}

function longestLine(text: string): number {
  return Math.max(...text.split('\n').map((line) => line.length));
}

export interface Spinner {
  update(text: string): void;
  stop(): void;
}

/** A spinner on stderr when stdout and stderr are a terminal; otherwise nothing is drawn. */
export async function startSpinner(text: string): Promise<Spinner> {
  // A terminal that reports no width (a pty nobody sized) would make ora clear lines forever.
  if (!process.stdout.isTTY || !process.stderr.isTTY || !(process.stderr.columns > 0)) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  // discardStdin would put the terminal in raw mode, where Ctrl-C no longer sends SIGINT. Enabled
  // on any terminal: ora turns itself off when $CI is set, even on a real one.
  const spinner = ora({ text, stream: process.stderr, discardStdin: false, isEnabled: true }).start();
  return {
    update(next) {
      spinner.text = next;
    },
    stop() {
      spinner.stop();
    },
  };
}
