// The wizard's live preview: the widget being edited, drawn from live values of its objects
// (a subscription by objects and statistics, docs/live.md) before it is saved. It draws a
// compact likeness of each display type (charts as bars of the current values); the dashboard
// draws the real thing.
import { html } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { styleMap } from 'lit/directives/style-map.js';
import { LightElement } from '../element.js';
import { describeStatistic, formatValue, numericValue, thresholdLevel, ticks } from '../format.js';
import { live } from '../live.js';
import { widgetColumns } from './widget-model.js';

class WbWidgetPreview extends LightElement {
  static properties = {
    tenant: {},
    widget: {},
    template: {},
    view: { state: true },
    now: { state: true },
  };

  constructor() {
    super();
    this.view = null;
    this.now = Date.now();
    this.handle = null;
    this.key = null;
  }

  connectedCallback() {
    super.connectedCallback();
    this.clock = setInterval(() => {
      if (this.view && [...this.view.rows()].some((row) => ticks(row[3]))) this.now = Date.now();
    }, 1000);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.clock);
    this.handle?.close();
    this.handle = null;
    this.key = null;
  }

  /** The explicit objects [[type, id]] and the template's statistic ids. */
  target() {
    const objects = [];
    for (const selection of this.widget?.objects || []) {
      for (const id of selection.ids || []) objects.push([selection.type, id]);
    }
    const statistics = (this.template?.statistics || []).map((s) => describeStatistic(s).id);
    return { objects, statistics };
  }

  willUpdate(changed) {
    if (!changed.has('widget') && !changed.has('template') && !changed.has('tenant')) return;
    const target = this.target();
    const key = JSON.stringify([this.tenant, target]);
    if (key === this.key) return;
    this.key = key;
    this.handle?.close();
    this.handle = null;
    this.view = null;
    if (target.objects.length && target.statistics.length) {
      this.handle = live.subscribe({ tenant: this.tenant, ...target }, (view) => {
        this.view = view;
        this.requestUpdate();
      });
    }
  }

  rows() {
    const rows = [];
    for (const selection of this.widget?.objects || []) {
      for (const id of selection.ids || []) rows.push({ type: selection.type, id });
      if (selection.group) rows.push({ type: selection.type, id: null, group: selection.group });
    }
    return rows;
  }

  cell(row, column) {
    if (row.id === null) return { text: '…', level: null };
    const value = this.view?.get(row.type, row.id, column.id);
    return { text: formatValue(value, column.format, this.now), level: thresholdLevel(value, column.thresholds, this.now), value };
  }

  renderTable(columns, rows, { alerts = false } = {}) {
    let body = rows.map((row) => ({ row, cells: columns.map((column) => this.cell(row, column)) }));
    if (alerts) body = body.filter(({ cells }) => cells.some((c) => c.level === 'warning' || c.level === 'critical'));
    return html`<table class="preview-table">
      <thead><tr><th scope="col">Object</th>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
      <tbody>
        ${body.length === 0
          ? html`<tr><td colspan=${columns.length + 1} class="muted">${alerts ? 'No value over a threshold now.' : 'No objects chosen.'}</td></tr>`
          : body.map(
              ({ row, cells }) => html`<tr>
                <th scope="row">${row.id ?? html`<span class="muted">members of ${row.group}</span>`}</th>
                ${cells.map((c) => html`<td class=${classMap({ [`level-${c.level}`]: !!c.level })}>${c.text}</td>`)}
              </tr>`,
            )}
      </tbody>
    </table>`;
  }

  renderBars(columns, rows) {
    const bars = [];
    for (const row of rows.filter((r) => r.id !== null)) {
      for (const column of columns) {
        const cell = this.cell(row, column);
        bars.push({ label: `${row.id} · ${column.label}`, n: numericValue(cell.value, this.now), ...cell });
      }
    }
    const max = Math.max(1, ...bars.map((b) => b.n ?? 0));
    return html`<ul class="preview-bars">
      ${bars.map(
        (b) => html`<li>
          <span class="preview-bar-label">${b.label}</span>
          <span class="preview-bar"><span class="preview-bar-fill ${b.level ? `level-${b.level}` : ''}" style=${styleMap({ width: `${((b.n ?? 0) / max) * 100}%` })}></span></span>
          <span class="preview-bar-value">${b.text}</span>
        </li>`,
      )}
    </ul>`;
  }

  renderBody() {
    const widget = this.widget;
    const type = widget.displayType;
    if (type === 'static_text') {
      return widget.options?.text ? html`<div class="preview-text">${widget.options.text}</div>` : html`<p class="muted">Write the text in the options.</p>`;
    }
    if (type === 'iframe') {
      return widget.options?.url
        ? html`<div class="preview-frame">Shows the web page <code>${widget.options.url}</code></div>`
        : html`<p class="muted">Give the page's address in the options.</p>`;
    }
    if (!this.template) return html`<p class="muted">Choose a template.</p>`;
    const columns = widgetColumns(widget, this.template);
    const rows = this.rows();
    if (rows.length === 0) return html`<p class="muted">Choose objects to see their values.</p>`;
    if (this.view?.error) {
      return html`<p class="form-error" role="alert">No live values for the preview: ${this.view.error.message || this.view.error.code}</p>`;
    }
    switch (type) {
      case 'kpi': {
        const [column] = columns;
        const [row] = rows;
        if (!column) return html`<p class="muted">Choose a statistic.</p>`;
        const cell = this.cell(row, column);
        return html`<div class="preview-kpi ${cell.level ? `level-${cell.level}` : ''}">
          <span class="preview-kpi-value">${cell.text}</span>
          <span class="preview-kpi-label">${column.label} · ${row.id ?? row.group}</span>
        </div>`;
      }
      case 'donut':
      case 'bar':
      case 'line':
        return html`${this.renderBars(columns, rows)}
          <p class="muted small">${type === 'line' ? 'The dashboard draws the trend from history; here: the values now.' : 'The values now.'}</p>`;
      case 'alert_list':
        return this.renderTable(columns, rows, { alerts: true });
      default:
        return this.renderTable(columns, rows);
    }
  }

  render() {
    if (!this.widget) return '';
    return html`<figure class="widget-preview" aria-label="Preview">
      <figcaption>${this.widget.title || 'Untitled'}</figcaption>
      <div class="preview-body">${this.renderBody()}</div>
    </figure>`;
  }
}

customElements.define('wb-widget-preview', WbWidgetPreview);
