// KPI: one big number coloured by its thresholds, with a small trend line: the widget's history
// (missing buckets are gaps), then its recent live values.
import { html, svg } from 'lit';
import { LightElement } from '../element.js';
import { formatValue, numericValue, thresholdLevel } from '../format.js';
import { bucketOf, columnsOf, historyLine, joinHistory, kpiValue, objectRows } from './model.js';

const TREND_POINTS = 60; // live points kept: bounded, a kiosk tab runs for days

class WbKpi extends LightElement {
  static properties = { widget: {}, template: {}, view: {}, history: {}, now: {} };

  constructor() {
    super();
    this.trend = [];
    this.lastVersion = null;
  }

  willUpdate() {
    const column = columnsOf(this.widget, this.template)[0];
    this.column = column;
    this.value = column ? kpiValue(objectRows(this.view, [column]), column, this.now) : undefined;
    // One trend point per change of the values (not per tick of the clock).
    if (this.view && this.view.version !== this.lastVersion) {
      this.lastVersion = this.view.version;
      const n = numericValue(this.value, this.now);
      if (n !== null) {
        this.trend.push([this.now, n]);
        if (this.trend.length > TREND_POINTS) this.trend.shift();
      }
    }
  }

  /** The trend's points, `[[time, number | null]]`: history first, `null` for a gap. */
  trendPoints() {
    const past = this.column ? historyLine(this.history, this.column) : [];
    return joinHistory(past, this.trend, bucketOf(this.history));
  }

  sparkline() {
    const points = this.trendPoints();
    const values = points.map((p) => p[1]).filter((v) => v !== null);
    if (values.length < 2) return '';
    const min = Math.min(...values);
    const span = Math.max(...values) - min || 1;
    const first = points[0][0];
    const width = points[points.length - 1][0] - first || 1;
    // One polyline per unbroken run: a missing bucket leaves a gap.
    const runs = [[]];
    for (const [time, value] of points) {
      if (value === null) runs.push([]);
      else runs[runs.length - 1].push(`${((time - first) / width) * 100},${28 - ((value - min) / span) * 26}`);
    }
    return html`<svg class="kpi-trend" viewBox="0 0 100 30" preserveAspectRatio="none" aria-hidden="true"
        data-points=${values.length} data-runs=${runs.filter((r) => r.length).length}>
      ${runs
        .filter((run) => run.length)
        .map((run) => svg`<polyline points=${run.join(' ')} fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke" />`)}
    </svg>`;
  }

  render() {
    if (!this.column) return html`<div class="widget-empty">No statistic to show</div>`;
    const level = thresholdLevel(this.value, this.column.thresholds, this.now);
    const size = this.widget.options?.size || 'medium';
    return html`<div class="kpi level-${level || 'none'} size-${size}" data-level=${level || 'none'}>
      <div class="kpi-value" aria-label="${this.column.label}">${formatValue(this.value, this.column.format, this.now)}</div>
      <div class="kpi-label">${this.column.label}</div>
      ${this.sparkline()}
    </div>`;
  }
}
customElements.define('wb-kpi', WbKpi);
