// The card around a widget: title bar, stale marker, expand, edit, CSV export and remove; owns
// the widget's live subscription and the clock that makes its durations tick.
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { boot } from '../boot.js';
import { clock } from '../clock.js';
import { widgetEditHref } from '../editor/dashboard-actions.js';
import { LightElement } from '../element.js';
import { hhmmss, ticks } from '../format.js';
import { live } from '../live.js';
import { href } from '../router.js';
import { columnsOf, HISTORY_MS } from './model.js';
import { DATA_FREE, renderDisplay } from './registry.js';

// Changes that reach the page this long after the collector wrote them mark the widget stale.
const LATE_MS = 10_000;
// Displays that draw a trend start from the widget's interval history (…/history): this far
// back, read again this often so the buckets written meanwhile join the line.
const HISTORY_TYPES = new Set(['kpi', 'line']);
const HISTORY_REFRESH_MS = 5 * 60 * 1000;

class WbWidgetCard extends LightElement {
  static properties = {
    tenant: {},
    dashboardUid: {},
    widget: {},
    template: {},
    editable: { type: Boolean },
    // The dashboard page offers editing (Edit, Export CSV); a wallboard shows values alone.
    actions: { type: Boolean },
    // What the user may do to it (auth.js): Edit needs mayEdit, Remove (when editable) mayRemove.
    mayEdit: { type: Boolean },
    mayRemove: { type: Boolean },
    expanded: { type: Boolean },
    view: { state: true },
    history: { state: true },
    now: { state: true },
    connection: { state: true },
  };

  constructor() {
    super();
    this.view = null;
    this.mayEdit = true;
    this.mayRemove = true;
    this.history = null;
    this.now = clock.now();
    this.connection = live.state;
    this.onTick = (event) => {
      // Redraw on the clock only when something shown grows with it, or a stale marker counts.
      const counts = this.widget?.displayType === 'alert_list'; // an alert shows its age
      if (this.view && (counts || this.view.staleSources().length || [...this.view.values.values()].some(ticks))) {
        this.now = event.detail;
      }
    };
    this.onConnection = (event) => {
      this.connection = event.detail;
    };
  }

  connectedCallback() {
    super.connectedCallback();
    clock.addEventListener('wb-tick', this.onTick);
    live.addEventListener('wb-live-state', this.onConnection);
    this.subscribe();
    this.historyTimer = setInterval(() => this.loadHistory(), HISTORY_REFRESH_MS);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clock.removeEventListener('wb-tick', this.onTick);
    live.removeEventListener('wb-live-state', this.onConnection);
    this.handle?.close();
    this.handle = null;
    clearInterval(this.historyTimer);
  }

  updated(changed) {
    if ((changed.has('widget') && changed.get('widget')?.uid !== this.widget?.uid) || changed.has('tenant')) {
      if (this.isConnected && changed.get('widget') !== undefined) this.subscribe();
    }
    if (changed.has('widget') || changed.has('template') || changed.has('tenant')) this.loadHistory();
  }

  /** Reads the history of the statistics a trend shows; a trend without it starts empty. */
  async loadHistory() {
    const widget = this.widget;
    if (!widget || !HISTORY_TYPES.has(widget.displayType) || !this.template || this.template.error) {
      this.history = null;
      return;
    }
    let columns = columnsOf(widget, this.template);
    if (widget.displayType === 'kpi') columns = columns.slice(0, 1);
    if (!columns.length) {
      this.history = null;
      return;
    }
    const query = new URLSearchParams({ from: String(Math.round(clock.now() - HISTORY_MS)) });
    for (const column of columns) query.append('statistic', column.id);
    const path = `/dashboards/${encodeURIComponent(this.dashboardUid)}/widgets/${encodeURIComponent(widget.uid)}/history`;
    try {
      const { data } = await tenantApi(this.tenant).get(`${path}?${query}`);
      if (this.widget === widget) this.history = data;
    } catch {
      // The browser has logged the failed request; the trend goes on with live values alone.
      if (this.widget === widget) this.history = null;
    }
  }

  subscribe() {
    this.handle?.close();
    this.handle = null;
    this.view = null;
    if (!this.widget || DATA_FREE.has(this.widget.displayType)) return;
    this.handle = live.subscribe(
      { tenant: this.tenant, dashboard: this.dashboardUid, widget: this.widget.uid },
      (view) => {
        this.now = clock.now();
        // A new object each time, so the displays see a changed property.
        this.view = Object.assign(Object.create(Object.getPrototypeOf(view)), view);
      },
    );
  }

  /** Why the values may not be current, or null: the connection, the subscription, a source. */
  staleness() {
    if (!this.widget || DATA_FREE.has(this.widget.displayType)) return null;
    if (this.connection !== 'open') return 'The live connection is down: values are not current';
    if (this.view?.error) return `Not available: ${this.view.error.message}`;
    if (this.view && this.view.lateMs > LATE_MS) {
      return `Values arrive late: ${Math.round(this.view.lateMs / 1000)} s after they were computed`;
    }
    const sources = this.view?.staleSources() || [];
    if (sources.length) {
      return sources
        .map((s) => `Source ${s.stream} stale for ${hhmmss(this.now - s.since)}${s.reason ? `: ${s.reason}` : ''}`)
        .join('; ');
    }
    return null;
  }

  requestRemove() {
    this.dispatchEvent(new CustomEvent('wb-remove-widget', { detail: this.widget.uid, bubbles: true }));
  }

  /** The API's CSV of this widget's current values (an attachment: the link downloads it). */
  csvHref() {
    const [tenant, dashboard, widget] = [this.tenant, this.dashboardUid, this.widget.uid].map(encodeURIComponent);
    return `${boot.apiPrefix}/tenants/${tenant}/dashboards/${dashboard}/widgets/${widget}/values.csv`;
  }

  render() {
    if (!this.widget) return '';
    const stale = this.staleness();
    const waiting = !DATA_FREE.has(this.widget.displayType) && !this.view && !stale;
    return html`<section class="widget-card ${stale ? 'stale' : ''}" data-widget=${this.widget.uid}
        data-display=${this.widget.displayType} data-stale=${stale ? 'true' : 'false'} aria-label=${this.widget.title}
        tabindex=${this.editable ? '0' : '-1'}
        aria-description=${this.editable ? 'Arrow keys move, Shift and arrow keys resize, Delete removes' : ''}>
      <header class="widget-head">
        <h2 class="widget-title">${this.widget.title}</h2>
        ${stale ? html`<span class="stale-badge" role="status" title=${stale}>Stale</span>` : ''}
        <span class="widget-actions">
          ${this.expanded
            ? html`<a class="icon-button" href=${href(`/dashboards/${this.dashboardUid}`)} aria-label="Back to the dashboard" title="Back">✕</a>`
            : html`<a class="icon-button" href=${href(`/dashboards/${this.dashboardUid}/widgets/${this.widget.uid}`)}
                aria-label="Expand ${this.widget.title}" title="Expand">⤢</a>`}
          ${this.actions && !DATA_FREE.has(this.widget.displayType)
            ? html`<a class="icon-button" href=${this.csvHref()} download
                aria-label="Export CSV of ${this.widget.title}" title="Export CSV">⇩</a>`
            : ''}
          ${this.actions && this.mayEdit
            ? html`<a class="icon-button" href=${widgetEditHref(this.dashboardUid, this.widget.uid)}
                aria-label="Edit ${this.widget.title}" title="Edit">✎</a>`
            : ''}
          ${this.editable && this.mayRemove
            ? html`<button type="button" class="icon-button" @click=${this.requestRemove} aria-label="Remove ${this.widget.title}" title="Remove">🗑</button>`
            : ''}
        </span>
      </header>
      <div class="widget-body">
        ${waiting ? html`<div class="widget-empty">Waiting for values…</div>` : renderDisplay({
          widget: this.widget,
          template: this.template,
          view: this.view,
          history: this.history,
          now: this.now,
        })}
      </div>
      ${stale ? html`<p class="stale-reason">${stale}</p>` : ''}
    </section>`;
  }
}
customElements.define('wb-widget-card', WbWidgetCard);
