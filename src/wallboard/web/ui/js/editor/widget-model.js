// What the wizard knows of widgets and templates (docs/api.md, "Widgets"): which display types
// a template allows, the statistics a widget shows, their thresholds, and where a new widget
// goes on the grid.
import { describeStatistic } from '../format.js';

export const DISPLAY_TYPES = {
  kpi: { label: 'KPI', hint: 'One big number, coloured by its thresholds.' },
  list: { label: 'List', hint: 'Objects one under the other with their values.' },
  grid: { label: 'Grid', hint: 'A table: objects by statistics, sortable.' },
  donut: { label: 'Donut', hint: 'Parts of a whole.' },
  bar: { label: 'Bar', hint: 'Values side by side.' },
  line: { label: 'Line', hint: 'A trend over the day, from history.' },
  alert_list: { label: 'Alert list', hint: 'Every value now over a threshold, newest first.' },
  static_text: { label: 'Static text', hint: 'A text of your own.' },
  iframe: { label: 'Web page', hint: 'Another page inside the dashboard.' },
};

export const DATA_TYPES = ['kpi', 'list', 'grid', 'donut', 'bar', 'line', 'alert_list'];
export const FREE_TYPES = ['static_text', 'iframe'];
const CHART_TYPES = ['donut', 'bar', 'line'];

/** Whether a template shows statistics (else it stands for a text or a web page). */
export function showsData(template) {
  return !!template && template.statistics.length > 0;
}

/** The display types a widget of `template` may take (null: no template). */
export function allowedDisplayTypes(template) {
  if (!showsData(template)) {
    if (template && FREE_TYPES.includes(template.defaultDisplayType)) {
      return [template.defaultDisplayType, ...FREE_TYPES.filter((t) => t !== template.defaultDisplayType)];
    }
    return FREE_TYPES;
  }
  // Charts need numbers: a template of states and texts alone is shown as figures and tables.
  const numeric = templateStatistics(template).some((s) => !['status', 'string'].includes(s.format));
  return numeric ? DATA_TYPES : DATA_TYPES.filter((t) => !CHART_TYPES.includes(t));
}

/** The template's statistics as shown ({id, label, format, thresholds, alias}). */
export function templateStatistics(template) {
  return (template?.statistics || []).map((s) => describeStatistic(s));
}

/** The statistics a widget shows: its columns (by id or alias), or all of its template's. */
export function widgetColumns(widget, template) {
  const all = templateStatistics(template);
  const chosen = widget.options?.columns || [];
  const columns = chosen.length
    ? chosen.map((key) => all.find((s) => s.id === key || (s.alias && s.alias === key))).filter(Boolean)
    : widget.displayType === 'kpi'
      ? all.slice(0, 1)
      : all;
  const overrides = widget.options?.thresholds || {};
  return columns.map((s) => ({ ...s, thresholds: overrides[s.id] || (s.alias && overrides[s.alias]) || s.thresholds }));
}

/** Where a new widget goes: under the lowest one, full width for text, else half. */
export function nextPosition(widgets, displayType) {
  const y = Math.max(0, ...widgets.map((w) => (w.position?.y ?? 0) + (w.position?.h ?? 0)));
  if (displayType === 'kpi') return { x: 0, y, w: 6, h: 3 };
  if (displayType === 'static_text') return { x: 0, y, w: 24, h: 2 };
  return { x: 0, y, w: 12, h: 6 };
}

/** Thresholds of time statistics are milliseconds; people type seconds. */
export function thresholdScale(format) {
  return format === 'time' ? { factor: 1000, unit: 's' } : { factor: 1, unit: '' };
}
