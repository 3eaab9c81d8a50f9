// Printing only: tables, JSON and spinners. Commands compute data; this turns it into text.

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printNotice(line: string): void {
  process.stderr.write(`${line}\n`);
}

export async function renderTable(head: string[], rows: string[][]): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const colour = process.stdout.isTTY === true && process.stdout.hasColors?.() === true;
  const table = new Table({
    head,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: colour ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
  });
  table.push(...rows);
  return table.toString();
}

export interface Spinner {
  update(text: string): void;
  stop(): void;
}

/** A spinner on stderr when stdout is a terminal; otherwise nothing is drawn. */
export async function startSpinner(text: string): Promise<Spinner> {
  if (!process.stdout.isTTY) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr }).start();
  return {
    update(next) {
      spinner.text = next;
    },
    stop() {
      spinner.stop();
    },
  };
}

/** `2026-11-24 13:02:01` (UTC) from milliseconds since the epoch or an ISO string. */
export function formatTime(time: number | string | null): string {
  if (time === null) return '';
  return new Date(time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

/** `1,234`. */
export function formatInteger(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1.2 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
