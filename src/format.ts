// Numbers, sizes and times as people read them: shared by the command line and the web pages.

/** `2026-11-24 13:02:01` (UTC) from milliseconds since the epoch or an ISO string. */
export function formatTime(time: number | string | null): string {
  if (time === null) return '';
  return new Date(time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
}

/** The ISO time that JSON output gives: `2026-11-24T13:02:01.123Z`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
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
