// How values are shown: formats of docs/statistics.md, "N/A" for a missing value (never 0), and
// durations that travel as start times ({"since": ms}) shown as now - since.
import { boot } from './boot.js';

export const MISSING = 'N/A';

export function isMissing(value) {
  return value === null || value === undefined;
}

export function isSince(value) {
  return value !== null && typeof value === 'object' && typeof value.since === 'number' && Object.keys(value).length === 1;
}

/** The number a value stands for now (a since is its duration in ms); null if none. */
export function numericValue(value, now = Date.now()) {
  if (typeof value === 'number') return value;
  if (isSince(value)) return Math.max(0, now - value.since);
  return null;
}

/** h:mm:ss (hours grow past 24; a day of waiting still reads as hours). */
export function hhmmss(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });

function titleCase(text) {
  return String(text).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** A status value {state, reason, since, media, dnd}: "Not ready (Break) 00:03:12". */
export function formatStatus(value, now = Date.now()) {
  if (isMissing(value)) return MISSING;
  if (typeof value !== 'object') return titleCase(value);
  const parts = [titleCase(value.state ?? value.status ?? '?')];
  if (value.reason) parts.push(`(${value.reason})`);
  if (typeof value.since === 'number') parts.push(hhmmss(now - value.since));
  return parts.join(' ');
}

/** The text of `value` in `format` (time, integer, number, percent, string, status). */
export function formatValue(value, format, now = Date.now()) {
  if (isMissing(value)) return MISSING;
  if (format === 'status') return formatStatus(value, now);
  if (isSince(value)) return hhmmss(now - value.since);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return MISSING;
    switch (format) {
      case 'time':
        return hhmmss(value);
      case 'integer':
        return integer.format(value);
      case 'percent':
        return `${percent.format(value)} %`;
      default:
        return number.format(value);
    }
  }
  if (typeof value === 'object') {
    // A breakdown (reason → ms): its parts, largest first.
    const entries = Object.entries(value).filter(([, v]) => typeof v === 'number');
    if (entries.length === 0) return MISSING;
    entries.sort((a, b) => b[1] - a[1]);
    return entries.map(([k, v]) => `${k} ${format === 'time' ? hhmmss(v) : number.format(v)}`).join(', ');
  }
  return String(value);
}

/** 'critical', 'warning', 'ok', or null (no thresholds, or nothing to compare). */
export function thresholdLevel(value, thresholds, now = Date.now()) {
  if (!thresholds) return null;
  const n = numericValue(value, now);
  if (n === null) return null;
  const below = thresholds.direction === 'below';
  const beyond = (limit) => limit !== null && limit !== undefined && (below ? n <= limit : n >= limit);
  if (beyond(thresholds.critical)) return 'critical';
  if (beyond(thresholds.warning)) return 'warning';
  return 'ok';
}

/** Whether a value changes with the clock alone (it must be redrawn every second). */
export function ticks(value) {
  return isSince(value) || (value !== null && typeof value === 'object' && typeof value.since === 'number');
}

/** A template statistic's facts for display: {id, label, format, thresholds}. */
export function describeStatistic(statistic) {
  const id = statistic.ref ?? statistic.definition?.id;
  const standard = boot.statistics?.[id];
  return {
    id,
    label: statistic.alias || standard?.description || id,
    format: statistic.format || statistic.definition?.format || standard?.format || 'number',
    thresholds: statistic.thresholds || null,
    alias: statistic.alias || '',
  };
}
