// Alert list: every value now over a threshold, the newest first (the order they crossed it,
// as this page saw it), critical before warning at the same moment.
import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { LightElement } from '../element.js';
import { formatValue, hhmmss, thresholdLevel } from '../format.js';
import { columnsOf, objectRows } from './model.js';

class WbAlertList extends LightElement {
  static properties = { widget: {}, template: {}, view: {}, now: {} };

  constructor() {
    super();
    this.firstSeen = new Map(); // alert key → when this page first saw it over the threshold
  }

  alerts() {
    const columns = columnsOf(this.widget, this.template).filter((c) => c.thresholds);
    const alerts = [];
    for (const row of objectRows(this.view, columns)) {
      for (const column of columns) {
        const value = row.values[column.id];
        const level = thresholdLevel(value, column.thresholds, this.now);
        if (level === 'warning' || level === 'critical') {
          const key = `${row.type}/${row.id}/${column.id}/${level}`;
          if (!this.firstSeen.has(key)) this.firstSeen.set(key, this.now);
          alerts.push({ key, row, column, value, level, since: this.firstSeen.get(key) });
        }
      }
    }
    const live = new Set(alerts.map((a) => a.key));
    for (const key of this.firstSeen.keys()) if (!live.has(key)) this.firstSeen.delete(key);
    const rank = { critical: 0, warning: 1 };
    return alerts.sort((a, b) => b.since - a.since || rank[a.level] - rank[b.level]);
  }

  render() {
    const alerts = this.alerts();
    if (alerts.length === 0) return html`<div class="widget-empty ok-text">No alerts</div>`;
    return html`<ul class="alert-list" aria-label="Alerts">
      ${repeat(
        alerts,
        (a) => a.key,
        (a) => html`<li class="alert level-${a.level}" data-level=${a.level}>
          <span class="alert-level">${a.level === 'critical' ? 'Critical' : 'Warning'}</span>
          <span class="alert-what">${a.column.label} · ${a.row.id}</span>
          <span class="alert-value">${formatValue(a.value, a.column.format, this.now)}</span>
          <span class="alert-age" title="Over the threshold for">${hhmmss(this.now - a.since)}</span>
        </li>`,
      )}
    </ul>`;
  }
}
customElements.define('wb-alert-list', WbAlertList);
