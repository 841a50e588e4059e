// A dashboard: its widgets on a gridstack grid of 24 columns. In edit mode widgets move,
// resize and are removed; each change is saved at once (PATCH/DELETE with If-Match), and a
// change made elsewhere meanwhile (412) reloads the dashboard.
//
// gridstack owns the grid's items (it moves their elements while dragging), so they are made
// with its API, never by a lit template; lit renders only each item's content.
import { html, render } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { tenantApi } from '../api.js';
import { auth } from '../auth.js';
import { LightElement } from '../element.js';
import { href } from '../router.js';
import '../widgets/card.js';
import { loadBoard } from './board.js';

const CELL_HEIGHT = 56;

class WbDashboardPage extends LightElement {
  static properties = {
    tenant: {},
    uid: {},
    expanded: {},
    board: { state: true },
    error: { state: true },
    editing: { state: true },
    notice: { state: true },
  };

  constructor() {
    super();
    this.board = null;
    this.error = null;
    this.editing = false;
    this.notice = '';
    this.etags = new Map(); // widget uid → ETag of its last answer
    this.onRemove = (event) => this.removeWidget(event.detail);
    this.onKey = (event) => this.keyboardEdit(event);
  }

  connectedCallback() {
    super.connectedCallback();
    this.addEventListener('wb-remove-widget', this.onRemove);
    this.addEventListener('keydown', this.onKey);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.removeEventListener('wb-remove-widget', this.onRemove);
    this.removeEventListener('keydown', this.onKey);
    this.destroyGrid();
  }

  willUpdate(changed) {
    if (changed.has('tenant') || changed.has('uid')) this.load();
  }

  /** Reads the dashboard; `keepGrid` (after a conflict) keeps the grid and moves its items to
   * where the server has them. */
  async load({ keepGrid = false } = {}) {
    if (!keepGrid) this.destroyGrid();
    this.error = null;
    try {
      this.board = await loadBoard(this.tenant, this.uid);
      this.etags.clear();
      // The page's editing actions (dashboard-actions.js) offer what the user may do to it.
      document.dispatchEvent(new CustomEvent('wb-dashboard-loaded', { detail: this.board.dashboard }));
    } catch (error) {
      this.board = null;
      this.error = error.code === 'not_found' ? `No dashboard “${this.uid}”` : error.message;
    }
  }

  get api() {
    return tenantApi(this.tenant);
  }

  destroyGrid() {
    // Our items go (their cards unsubscribe); the grid's element is lit's and stays.
    this.grid?.removeAll(true, false);
    this.grid?.destroy(false);
    this.grid = null;
    this.items = new Map();
  }

  updated() {
    const element = this.querySelector('.grid-stack');
    if (!element) {
      this.destroyGrid();
      return;
    }
    if (this.grid && this.grid.el !== element) this.destroyGrid();
    if (!this.grid) {
      this.items = new Map(); // widget uid → its grid item element
      this.grid = window.GridStack.init(
        {
          column: 24,
          cellHeight: CELL_HEIGHT,
          margin: 6,
          float: false,
          animate: false,
          staticGrid: !this.editing,
          columnOpts: { breakpoints: [{ w: 700, c: 1 }], columnMax: 24 },
          draggable: { handle: '.widget-head' },
        },
        element,
      );
      this.grid.on('change', (_event, items) => {
        if (!this.syncing) this.saveMoves(items);
      });
    } else {
      this.grid.setStatic(!this.editing);
    }
    this.syncItems();
  }

  /** Adds the grid items of new widgets, removes those of removed ones, renders every card. */
  syncItems() {
    const widgets = this.board?.dashboard.widgets || [];
    const uids = new Set(widgets.map((w) => w.uid));
    for (const [uid, element] of this.items) {
      if (!uids.has(uid)) {
        this.grid.removeWidget(element, true, false);
        this.items.delete(uid);
      }
    }
    // What the server says is not a move of the user's: not saved back.
    this.syncing = true;
    try {
      this.grid.batchUpdate();
      for (const widget of widgets) {
        let element = this.items.get(widget.uid);
        if (!element) {
          element = this.grid.addWidget({ id: widget.uid, ...widget.position });
          this.items.set(widget.uid, element);
        } else {
          const node = element.gridstackNode;
          const { x, y, w, h } = widget.position;
          if (node && (node.x !== x || node.y !== y || node.w !== w || node.h !== h)) {
            this.grid.update(element, { x, y, w, h });
          }
        }
        render(this.card(widget), element.querySelector('.grid-stack-item-content'));
      }
      this.grid.batchUpdate(false);
    } finally {
      this.syncing = false;
    }
  }

  /** In edit mode, a focused widget moves with the arrow keys, resizes with Shift+arrows and
   * is removed with Delete: the layout needs no mouse. */
  keyboardEdit(event) {
    if (!this.editing || !this.grid || !event.target.matches?.('.widget-card')) return;
    const element = event.target.closest('.grid-stack-item');
    const node = element?.gridstackNode;
    if (!node) return;
    if (event.key === 'Delete') {
      event.preventDefault();
      this.removeWidget(node.id);
      return;
    }
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (!step) return;
    event.preventDefault();
    const [dx, dy] = step;
    const change = event.shiftKey
      ? { w: Math.max(1, Math.min(24 - node.x, node.w + dx)), h: Math.max(1, node.h + dy) }
      : { x: Math.max(0, Math.min(24 - node.w, node.x + dx)), y: Math.max(0, node.y + dy) };
    this.grid.update(element, change);
    event.target.focus();
  }

  async widgetEtag(uid) {
    if (!this.etags.has(uid)) {
      const { etag } = await this.api.get(`/dashboards/${this.uid}/widgets/${uid}`);
      this.etags.set(uid, etag);
    }
    return this.etags.get(uid);
  }

  async saveMoves(items) {
    try {
      for (const item of items || []) {
        const uid = item.id;
        const position = { x: item.x, y: item.y, w: item.w, h: item.h };
        // Where the user put it is where it stays while the save is on its way.
        const moved = this.board.dashboard.widgets.find((w) => w.uid === uid);
        if (moved) moved.position = position;
        const { data, etag } = await this.api.patch(
          `/dashboards/${this.uid}/widgets/${uid}`,
          { position },
          await this.widgetEtag(uid),
        );
        this.etags.set(uid, etag);
        const widget = this.board.dashboard.widgets.find((w) => w.uid === uid);
        if (widget) Object.assign(widget, { position: data.position, version: data.version });
      }
      this.notice = 'Layout saved';
    } catch (error) {
      await this.failed(error);
    }
  }

  async removeWidget(uid) {
    const widget = this.board?.dashboard.widgets.find((w) => w.uid === uid);
    if (!widget || !auth.mayManageWidgets(this.board.dashboard) || !confirm(`Remove the widget “${widget.title}”?`)) return;
    try {
      await this.api.delete(`/dashboards/${this.uid}/widgets/${uid}`, await this.widgetEtag(uid));
      this.board = {
        ...this.board,
        dashboard: { ...this.board.dashboard, widgets: this.board.dashboard.widgets.filter((w) => w.uid !== uid) },
      };
      this.notice = `Removed “${widget.title}”`;
    } catch (error) {
      await this.failed(error);
    }
  }

  async failed(error) {
    if (error.code === 'version_mismatch' || error.code === 'not_found') {
      this.notice = 'The dashboard was changed elsewhere: reloaded';
      await this.load({ keepGrid: true });
    } else {
      this.notice = `Not saved: ${error.message}`;
    }
  }

  card(widget, { expanded = false } = {}) {
    return html`<wb-widget-card .tenant=${this.tenant} .dashboardUid=${this.uid} .widget=${widget}
      .template=${this.board.templates.get(widget.templateUid) || null} ?editable=${this.editing && !expanded}
      actions ?expanded=${expanded} .mayEdit=${auth.mayEditDisplay(this.board.dashboard)}
      .mayRemove=${auth.mayManageWidgets(this.board.dashboard)}></wb-widget-card>`;
  }

  render() {
    if (this.error) return html`<div class="empty" role="alert">${this.error}. <a href="#/">All dashboards</a></div>`;
    if (!this.board) return html`<div class="empty">Loading…</div>`;
    const { dashboard } = this.board;
    if (this.expanded) {
      const widget = dashboard.widgets.find((w) => w.uid === this.expanded);
      if (!widget) return html`<div class="empty" role="alert">No widget “${this.expanded}” on this dashboard.</div>`;
      return html`<div class="expanded-widget">${this.card(widget, { expanded: true })}</div>`;
    }
    return html`
      <div class="page-head">
        <h1>${dashboard.name}</h1>
        ${dashboard.kind === 'wallboard' ? html`<span class="badge kind-wallboard">Wallboard</span>` : ''}
        <span class="muted">${dashboard.description}</span>
        <span class="actions">
          <span class="notice" role="status">${this.notice}</span>
          ${auth.mayEditDisplay(dashboard) ? this.editButton() : ''}
          <a class="button" href=${href(`/wallboards/${dashboard.uid}`)}>Show as wallboard</a>
        </span>
      </div>
      ${dashboard.widgets.length === 0 ? html`<div class="empty">This dashboard has no widgets yet.</div>` : ''}
      <div class=${classMap({ 'grid-stack': true, editing: this.editing })}></div>
    `;
  }

  editButton() {
    return html`<button type="button" aria-pressed=${this.editing ? 'true' : 'false'} @click=${() => {
      this.editing = !this.editing;
      this.notice = '';
    }}>${this.editing ? 'Done' : 'Edit layout'}</button>`;
  }
}
customElements.define('wb-dashboard-page', WbDashboardPage);
