// Donut, bar and line charts with ECharts: one chart instance per widget, disposed with it;
// the line starts from the widget's interval history and goes on with a bounded series of the
// live values it has seen since (a kiosk tab runs for days).
import { html } from 'lit';
import * as echarts from 'echarts';
import { LightElement } from '../element.js';
import { formatValue, numericValue } from '../format.js';
import { bucketOf, columnsOf, HISTORY_MS, historyLine, joinHistory, kpiValue, objectRows } from './model.js';

const LINE_POINTS = 720;
// Live points kept: longer than the history's bucket plus its refresh, so the two overlap.
const LINE_WINDOW_MS = 30 * 60 * 1000;

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function palette() {
  return [cssVar('--accent'), '#22c55e', '#f59e0b', '#ef4444', '#a855f7', '#06b6d4', '#ec4899', '#84cc16'];
}

class WbChart extends LightElement {
  static properties = { widget: {}, template: {}, view: {}, history: {}, now: {}, kind: {} };

  constructor() {
    super();
    this.series = new Map(); // line: column id → [[time, value]]
    this.lastVersion = null;
    this.onTheme = () => this.rebuild();
  }

  connectedCallback() {
    super.connectedCallback();
    document.addEventListener('wb-theme', this.onTheme);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener('wb-theme', this.onTheme);
    this.resizer?.disconnect();
    this.chart?.dispose();
    this.chart = null;
  }

  render() {
    return html`<div class="chart" role="img" aria-label=${`${this.kind} chart: ${this.widget?.title ?? ''}`}></div>`;
  }

  firstUpdated() {
    const element = this.querySelector('.chart');
    this.resizer = new ResizeObserver(() => this.chart?.resize());
    this.resizer.observe(element);
    this.rebuild();
  }

  rebuild() {
    const element = this.querySelector('.chart');
    if (!element) return;
    this.chart?.dispose();
    this.chart = echarts.init(element, null, { renderer: 'canvas' });
    this.draw();
  }

  updated(changed) {
    if (this.chart && (changed.has('view') || changed.has('history'))) this.draw();
    else if (this.chart && this.view && this.view.version !== this.lastVersion) this.draw();
  }

  draw() {
    if (!this.view) return;
    const changedValues = this.view.version !== this.lastVersion;
    this.lastVersion = this.view.version;
    let columns = columnsOf(this.widget, this.template);
    if (this.kind !== 'line') {
      // One scale per chart: the statistics of the first one's format (counts, or times…).
      columns = columns.filter((c) => c.format === columns[0]?.format);
    }
    const rows = objectRows(this.view, columns);
    const text = cssVar('--text');
    const muted = cssVar('--muted');
    const border = cssVar('--border');
    const base = {
      animation: false,
      color: palette(),
      textStyle: { color: text, fontFamily: cssVar('--font') },
      tooltip: { trigger: this.kind === 'donut' ? 'item' : 'axis' },
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: muted }, type: 'scroll' },
    };
    const axis = { axisLine: { lineStyle: { color: border } }, axisLabel: { color: muted }, splitLine: { lineStyle: { color: border } } };
    let option;
    if (this.kind === 'donut') {
      // One slice per statistic (summed over objects) or, with one statistic, one per object.
      const data =
        columns.length === 1
          ? rows.map((row) => ({ name: row.id, value: numericValue(row.values[columns[0].id], this.now) }))
          : columns.map((c) => ({ name: c.label, value: numericValue(kpiValue(rows, c, this.now), this.now) }));
      option = {
        ...base,
        legend: { ...base.legend, bottom: 0, top: undefined },
        series: [
          {
            type: 'pie',
            radius: ['48%', '75%'],
            itemStyle: { borderColor: cssVar('--surface'), borderWidth: 2 },
            label: { color: text, formatter: '{b}: {c}' },
            data: data.filter((d) => d.value !== null),
          },
        ],
      };
    } else if (this.kind === 'bar') {
      option = {
        ...base,
        xAxis: { type: 'category', data: rows.map((r) => r.id), ...axis },
        yAxis: { type: 'value', ...axis },
        series: columns.map((c) => ({
          type: 'bar',
          name: c.label,
          data: rows.map((r) => numericValue(r.values[c.id], this.now)),
        })),
      };
    } else {
      if (changedValues) {
        for (const c of columns) {
          const points = this.series.get(c.id) || [];
          const value = numericValue(kpiValue(rows, c, this.now), this.now);
          if (value !== null) points.push([this.now, value]);
          while (points.length > LINE_POINTS || (points.length > 1 && points[0][0] < this.now - LINE_WINDOW_MS)) {
            points.shift();
          }
          this.series.set(c.id, points);
        }
      }
      const format = columns[0]?.format;
      const bucket = bucketOf(this.history);
      const pasts = new Map(columns.map((c) => [c.id, historyLine(this.history, c)]));
      const lines = new Map(columns.map((c) => [c.id, joinHistory(pasts.get(c.id), this.series.get(c.id) || [], bucket)]));
      // The axis spans the history when there is one, else the live values kept.
      const since = [...pasts.values()].some((past) => past.length) ? HISTORY_MS : LINE_WINDOW_MS;
      option = {
        ...base,
        xAxis: { type: 'time', min: this.now - since, max: this.now, ...axis },
        yAxis: {
          type: 'value',
          ...axis,
          axisLabel: { color: muted, formatter: (v) => formatValue(v, format === 'time' ? 'time' : 'number') },
        },
        series: columns.map((c) => ({
          type: 'line',
          name: c.label,
          showSymbol: lines.get(c.id).length < 2,
          step: 'end',
          connectNulls: false, // a missing bucket is a gap, not a zero
          data: lines.get(c.id),
        })),
      };
    }
    this.chart.setOption(option, { notMerge: true });
  }
}
customElements.define('wb-chart', WbChart);
