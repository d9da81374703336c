/** Human formats for sizes, durations and times. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 1234567 → "1.2 MB" (powers of 1000, as file managers show). */
export function bytes(n) {
  if (!Number.isFinite(n)) return '';
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${UNITS[i]}`;
}

/** Seconds → "0:07", "3:25", "1:02:03". */
export function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (v) => String(v).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** Seconds → "4.2 s" under a minute, else clock form. */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return '';
  return seconds < 60 ? `${seconds.toFixed(seconds < 10 ? 1 : 0)} s` : clock(seconds);
}

/** ISO time → local "14:03:22" today, else a short date and time. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

/** "max_fragment_duration" / "bitDepth" → "Max fragment duration" / "Bit depth". */
export function humanize(name) {
  const words = String(name).replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const pct = (fraction) => `${Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100)}%`;
