// From a widget, its template and its live values to what a display shows: the statistics it
// shows (columns), one row per object, and a KPI's single value.
import { describeStatistic, numericValue } from '../format.js';

/** The statistics the widget shows, in order: options.columns (ids or aliases), else all the
 * template's; each {id, label, format, thresholds} with the widget's thresholds applied. */
export function columnsOf(widget, template) {
  if (!template) return [];
  const all = template.statistics.map(describeStatistic);
  const chosen = widget.options?.columns?.length
    ? widget.options.columns
        .map((key) => all.find((s) => s.id === key || (s.alias && s.alias === key)))
        .filter(Boolean)
    : all;
  const overrides = widget.options?.thresholds || {};
  return chosen.map((s) => ({ ...s, thresholds: overrides[s.id] || (s.alias && overrides[s.alias]) || s.thresholds }));
}

/** One row per object with a value of any column: {type, id, values: {statistic: value}}. */
export function objectRows(view, columns) {
  if (!view) return [];
  const wanted = new Set(columns.map((c) => c.id));
  const rows = new Map();
  for (const [type, id, statistic, value] of view.rows()) {
    if (type === 'source' || !wanted.has(statistic)) continue;
    const key = `${type}\u0000${id}`;
    if (!rows.has(key)) rows.set(key, { type, id, values: {} });
    rows.get(key).values[statistic] = value;
  }
  return [...rows.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
}

/** A KPI's value of `column` over the rows: the value itself for one object; over several, the
 * sum of counts, the longest of times, the mean of the rest. Undefined (N/A) if none has one. */
export function kpiValue(rows, column, now = Date.now()) {
  const present = rows.map((row) => row.values[column.id]).filter((v) => v !== undefined && v !== null);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  const numbers = present.map((v) => numericValue(v, now)).filter((n) => n !== null);
  if (numbers.length === 0) return present[0];
  if (column.format === 'integer') return numbers.reduce((a, b) => a + b, 0);
  if (column.format === 'time') return Math.max(...numbers);
  return numbers.reduce((a, b) => a + b, 0) / numbers.length;
}

/** The sort of options.sort ({by: id or alias, descending}) as a column id, or null. */
export function sortOf(widget, columns) {
  const sort = widget.options?.sort;
  if (!sort) return null;
  const column = columns.find((c) => c.id === sort.by || (c.alias && c.alias === sort.by));
  return column ? { by: column.id, descending: !!sort.descending } : null;
}

/** Compares two values for sorting: missing last, numbers (and durations) by size. */
export function compareValues(a, b, now = Date.now()) {
  const missingA = a === undefined || a === null;
  const missingB = b === undefined || b === null;
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const na = numericValue(a, now);
  const nb = numericValue(b, now);
  if (na !== null && nb !== null) return na - nb;
  const sa = typeof a === 'object' ? (a.state ?? JSON.stringify(a)) : String(a);
  const sb = typeof b === 'object' ? (b.state ?? JSON.stringify(b)) : String(b);
  return sa.localeCompare(sb);
}

/** How far back a trend (line chart, a KPI's trend line) starts, from the widget's history. */
export const HISTORY_MS = 4 * 60 * 60 * 1000;

/** The collector's history buckets unless the history shows another length (docs/operations.md). */
export const BUCKET_MS = 15 * 60 * 1000;

/** The bucket length of a history (`…/history`): the shortest step between two starts. */
export function bucketOf(history) {
  let step = Infinity;
  for (const series of history?.series || []) {
    for (let i = 1; i < series.points.length; i++) {
      step = Math.min(step, series.points[i].start - series.points[i - 1].start);
    }
  }
  return Number.isFinite(step) && step > 0 ? step : BUCKET_MS;
}

/**
 * The history of `column` over the widget's objects, combined per bucket as a KPI combines
 * objects (kpiValue): `[[time, number | null]]` at each bucket's end (when the collector sampled
 * it), with a `null` where buckets are missing, so a chart draws a gap, never a zero.
 */
export function historyLine(history, column) {
  const byStart = new Map();
  for (const series of history?.series || []) {
    if (series.statistic !== column.id) continue;
    for (const point of series.points) {
      if (!byStart.has(point.start)) byStart.set(point.start, []);
      byStart.get(point.start).push({ values: { [column.id]: point.value } });
    }
  }
  const bucket = bucketOf(history);
  const line = [];
  let previous = null;
  for (const start of [...byStart.keys()].sort((a, b) => a - b)) {
    const sampled = start + bucket;
    if (previous !== null && start - previous > bucket) line.push([previous + 2 * bucket, null]);
    line.push([sampled, numericValue(kpiValue(byStart.get(start), column, sampled), sampled)]);
    previous = start;
  }
  return line;
}

/**
 * The history's line continued by the live points seen since its last bucket; when the newest
 * buckets are missing (more than two bucket lengths before the first live point) a gap
 * separates them.
 */
export function joinHistory(past, live, bucket = BUCKET_MS) {
  if (!past.length) return live;
  const last = past[past.length - 1][0];
  const after = live.filter((point) => point[0] > last);
  if (after.length && after[0][0] - last > 2 * bucket) return [...past, [last + bucket, null], ...after];
  return [...past, ...after];
}
