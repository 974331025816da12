// A file's size as people read it: 999 B, 1.5 KB, 25 MB (powers of 1024).

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function humanSize(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${UNITS[unit]}`;
}
