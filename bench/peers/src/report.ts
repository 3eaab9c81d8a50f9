import type { ChildResult } from './child.js';
import type { MeasureKey } from './runner.js';
import type { SystemName } from './system.js';

// The table the issue shows: measures down, systems across, medians; then the same table with
// each median's min and max over the runs; then the notes its marks point to.

export interface Outcome {
  runs: ChildResult[];
  error?: string;
  unsupported?: string;
}

export type Results = Partial<Record<SystemName, Partial<Record<MeasureKey, Outcome>>>>;

type Field = 'jobsPerSecond' | 'p50Ms' | 'p99Ms' | 'peakRssMiB';

export interface Statistic {
  median: number;
  min: number;
  max: number;
}

interface Row {
  /** What `rowNotes` is keyed by. */
  id: string;
  title: string;
  measure: MeasureKey;
  fields: Field[];
  /** Measured for these systems only; the others' cells say why not. */
  only?: { systems: SystemName[]; why: string };
}

interface Column {
  systems: SystemName[];
  note?: string;
}

export interface ReportInput {
  results: Results;
  systems: SystemName[];
  labels: Partial<Record<SystemName, string>>;
  columnNotes: Partial<Record<SystemName, string>>;
  rowNotes: Partial<Record<string, string>>;
}

export const ROWS: Row[] = [
  { id: 'enqueue-one', title: 'enqueue, one awaited at a time, jobs/s', measure: 'enqueue-one', fields: ['jobsPerSecond'] },
  { id: 'enqueue-bulk', title: 'bulk enqueue, chunks of 1,000, jobs/s', measure: 'enqueue-bulk', fields: ['jobsPerSecond'] },
  { id: 'drain', title: 'drain, concurrency 1, jobs/s', measure: 'drain-1', fields: ['jobsPerSecond'] },
  { id: 'drain', title: 'drain, concurrency 10, jobs/s', measure: 'drain-10', fields: ['jobsPerSecond'] },
  { id: 'drain', title: 'drain, concurrency 64, jobs/s', measure: 'drain-64', fields: ['jobsPerSecond'] },
  { id: 'pickup', title: 'pickup p50 / p99, ms', measure: 'pickup', fields: ['p50Ms', 'p99Ms'] },
  { id: 'rss-library', title: 'worker peak RSS, MiB (library in-process, c=10)', measure: 'drain-10', fields: ['peakRssMiB'] },
  {
    id: 'rss-command',
    title: 'worker peak RSS, MiB (`usergen worker` command, c=10)',
    measure: 'command-rss',
    fields: ['peakRssMiB'],
    only: { systems: ['usergen-full', 'usergen-normal'], why: "usergen's command only: the peers are measured as libraries (row above)" },
  },
];

const COLUMNS: Column[] = [
  { systems: ['usergen-full'] },
  { systems: ['usergen-normal'] },
  { systems: ['usergen-pg-full'] },
  { systems: ['usergen-pg-normal'] },
  { systems: ['plainjob'] },
  { systems: ['bullmq'] },
  { systems: ['graphile-worker'] },
  { systems: ['graphile-worker-defaults'] },
  { systems: ['bare-claim1', 'bare-claim50'] },
];

export function statistic(outcome: Outcome | undefined, field: Field): Statistic | null {
  const values = (outcome?.runs ?? []).map((run) => run[field]).filter((value): value is number => typeof value === 'number');
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export function formatValue(field: Field, value: number): string {
  if (field === 'jobsPerSecond') return Math.round(value).toLocaleString('en-US');
  if (field === 'peakRssMiB') return value.toFixed(1);
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

class Notes {
  readonly texts: string[] = [];
  mark(text: string): string {
    let index = this.texts.indexOf(text);
    if (index < 0) index = this.texts.push(text) - 1;
    return `[${index + 1}]`;
  }
}

function cell(system: SystemName, outcome: Outcome | undefined, row: Row, notes: Notes, show: (stat: Statistic, field: Field) => string): string {
  if (row.only && !row.only.systems.includes(system)) return `- ${notes.mark(row.only.why)}`;
  if (outcome?.unsupported) return `- ${notes.mark(outcome.unsupported)}`;
  if (outcome?.error) return `error ${notes.mark(outcome.error)}`;
  const parts = row.fields.map((field) => {
    const stat = statistic(outcome, field);
    return stat ? show(stat, field) : null;
  });
  if (parts.some((part) => part === null)) return `- ${notes.mark(`${system}: no figure (see the run's log)`)}`;
  return parts.join(' / ');
}

function markdown(head: string[], rows: string[][]): string {
  const widths = head.map((text, i) => Math.max(text.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((text, i) => text.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The medians table and the min-max table, with the notes both point to. */
export function renderTables(input: ReportInput): { medians: string; ranges: string; notes: string[] } {
  const notes = new Notes();
  const columns = COLUMNS.map((column) => ({ ...column, systems: column.systems.filter((system) => input.systems.includes(system)) })).filter(
    (column) => column.systems.length > 0,
  );
  const head = [
    '',
    ...columns.map((column) => {
      const labels = column.systems.map((system) => input.labels[system] ?? system);
      const title = column.systems[0]!.startsWith('bare-')
        ? `bare better-sqlite3 (${column.systems.map((system) => (system === 'bare-claim1' ? 'claim 1' : 'claim 50')).join(' / ')})`
        : labels.join(' / ');
      const note = input.columnNotes[column.systems[0]!];
      return note ? `${title} ${notes.mark(note)}` : title;
    }),
  ];
  const table = (show: (stat: Statistic, field: Field) => string) =>
    markdown(
      head,
      ROWS.map((row) => {
        const note = input.rowNotes[row.id];
        const title = note ? `${row.title} ${notes.mark(note)}` : row.title;
        const cells = columns.map((column) => {
          const texts = column.systems.map((system) => cell(system, input.results[system]?.[row.measure], row, notes, show));
          return new Set(texts).size === 1 ? texts[0]! : texts.join(' / ');
        });
        return [title, ...cells];
      }),
    );
  const medians = table((stat, field) => formatValue(field, stat.median));
  const ranges = table((stat, field) =>
    stat.min === stat.max ? formatValue(field, stat.min) : `${formatValue(field, stat.min)}–${formatValue(field, stat.max)}`,
  );
  return { medians, ranges, notes: notes.texts };
}

/** The results as JSON gives them: every run's figures, and each figure's median, min and max. */
export function summarize(results: Results): Record<string, Record<string, object>> {
  const summary: Record<string, Record<string, object>> = {};
  for (const [system, measures] of Object.entries(results)) {
    summary[system] = {};
    for (const [key, outcome] of Object.entries(measures ?? {})) {
      const fields = [...new Set(outcome.runs.flatMap((run) => Object.keys(run)))] as Field[];
      summary[system][key] = {
        ...outcome,
        ...Object.fromEntries(fields.map((field) => [field, statistic(outcome, field)])),
      };
    }
  }
  return summary;
}
