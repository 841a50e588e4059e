// A wallboard: full screen, dark high-contrast theme, the grid fitted to the screen without
// scrolling, and rotation through the dashboards of its `rotation` every intervalSeconds
// (?rotate=0 holds the first). Esc leaves; F asks for full screen.
import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { auth } from '../auth.js';
import { clock } from '../clock.js';
import { LightElement } from '../element.js';
import { live } from '../live.js';
import { navigate } from '../router.js';
import { applyTheme } from '../theme.js';
import '../widgets/card.js';
import { loadBoard, rowsOf } from './board.js';

const MARGIN = 8;
const FOOTER = 44;
// A kiosk tab runs for days: reload once a day to give back whatever the page held on to.
const RELOAD_AFTER_MS = 24 * 3600 * 1000;
const pageLoadedAt = Date.now();
// A kiosk screen asks this often whether its link still holds (a revoked one gets 401: the
// shell then shows that the link is no longer valid).
const KIOSK_CHECK_MS = 60 * 1000;

class WbWallboardPage extends LightElement {
  static properties = {
    tenant: {},
    uid: {},
    query: {},
    board: { state: true },
    showing: { state: true },
    error: { state: true },
    now: { state: true },
    height: { state: true },
  };

  constructor() {
    super();
    this.board = null;
    this.showing = null;
    this.error = null;
    this.now = clock.now();
    this.height = innerHeight;
    this.boards = new Map(); // uid → loaded board, for the rotation
    this.onKey = (event) => {
      if (event.key === 'Escape' && !auth.kiosk) navigate('/');
      if (event.key === 'f' || event.key === 'F') document.documentElement.requestFullscreen?.().catch(() => {});
    };
    this.onResize = () => {
      this.height = innerHeight;
    };
    this.onTick = (event) => {
      this.now = event.detail;
      if (this.now - pageLoadedAt > RELOAD_AFTER_MS && live.state === 'open') location.reload();
      this.rotateIfDue();
      this.checkKioskIfDue();
    };
  }

  connectedCallback() {
    super.connectedCallback();
    document.documentElement.dataset.forcedTheme = 'wallboard';
    applyTheme(undefined, { forced: 'wallboard' });
    addEventListener('keydown', this.onKey);
    addEventListener('resize', this.onResize);
    clock.addEventListener('wb-tick', this.onTick);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    delete document.documentElement.dataset.forcedTheme;
    applyTheme();
    removeEventListener('keydown', this.onKey);
    removeEventListener('resize', this.onResize);
    clock.removeEventListener('wb-tick', this.onTick);
    this.grid?.destroy(false);
    this.grid = null;
  }

  willUpdate(changed) {
    if (changed.has('tenant') || changed.has('uid')) this.start();
  }

  /** The wallboards shown in turn: the rotation's dashboards, else this one alone. */
  get playlist() {
    const rotation = this.board?.dashboard.rotation;
    if (!rotation?.dashboards?.length || this.query?.rotate === '0') return [this.uid];
    return rotation.dashboards;
  }

  async start() {
    this.error = null;
    this.boards.clear();
    try {
      this.board = await loadBoard(this.tenant, this.uid);
      this.boards.set(this.uid, this.board);
      this.index = Math.max(0, this.playlist.indexOf(this.uid));
      await this.show(this.playlist[this.index]);
    } catch (error) {
      this.error = error.code === 'not_found' ? `No wallboard “${this.uid}”` : error.message;
    }
  }

  async show(uid) {
    if (!this.boards.has(uid)) this.boards.set(uid, await loadBoard(this.tenant, uid));
    this.grid?.destroy(false);
    this.grid = null;
    this.showing = this.boards.get(uid);
    this.shownAt = clock.now();
  }

  checkKioskIfDue() {
    if (!auth.kiosk || Date.now() - (this.kioskCheckedAt ?? pageLoadedAt) < KIOSK_CHECK_MS) return;
    this.kioskCheckedAt = Date.now();
    // A 401 ends the screen (api.js tells the shell); anything else is for the next check.
    loadBoard(this.tenant, this.uid).catch(() => {});
  }

  rotateIfDue() {
    const list = this.playlist;
    const seconds = this.board?.dashboard.rotation?.intervalSeconds;
    if (list.length < 2 || !seconds || !this.shownAt || this.now - this.shownAt < seconds * 1000) return;
    this.index = (this.index + 1) % list.length;
    this.shownAt = this.now; // a board that fails to load is skipped at the next turn
    this.show(list[this.index]).catch((error) => {
      this.error = `Rotation: ${list[this.index]}: ${error.message}`;
    });
  }

  updated() {
    const element = this.querySelector('.grid-stack');
    if (!element || !this.showing) return;
    const rows = rowsOf(this.showing.dashboard.widgets);
    const cellHeight = Math.max(24, Math.floor((this.height - FOOTER - MARGIN) / rows));
    if (this.grid && this.grid.el !== element) {
      this.grid.destroy(false);
      this.grid = null;
    }
    if (!this.grid) {
      this.grid = window.GridStack.init(
        { column: 24, cellHeight, margin: MARGIN / 2, staticGrid: true, animate: false, float: true, columnOpts: { breakpoints: [], columnMax: 24 } },
        element,
      );
    } else if (this.grid.getCellHeight() !== cellHeight) {
      this.grid.cellHeight(cellHeight);
    }
  }

  render() {
    if (this.error) return html`<div class="empty" role="alert">${this.error}</div>`;
    if (!this.showing) return html`<div class="empty">Loading…</div>`;
    const { dashboard, templates } = this.showing;
    const list = this.playlist;
    const seconds = this.board.dashboard.rotation?.intervalSeconds;
    const left = seconds ? Math.max(0, Math.ceil(seconds - (this.now - this.shownAt) / 1000)) : null;
    const clockText = new Date(this.now).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return html`<div class="wallboard" data-showing=${dashboard.uid}>
      ${repeat(
        [dashboard],
        (d) => d.uid,
        (d) => html`<div class="grid-stack wallboard-grid">
          ${d.widgets.map(
            (w) => html`<div class="grid-stack-item" gs-id=${w.uid} gs-x=${w.position.x} gs-y=${w.position.y}
                gs-w=${w.position.w} gs-h=${w.position.h}>
              <div class="grid-stack-item-content">
                <wb-widget-card .tenant=${this.tenant} .dashboardUid=${d.uid} .widget=${w}
                  .template=${templates.get(w.templateUid) || null}></wb-widget-card>
              </div>
            </div>`,
          )}
        </div>`,
      )}
      <footer class="wallboard-footer">
        <span class="wallboard-name">${dashboard.name}</span>
        ${list.length > 1
          ? html`<span class="rotation" aria-label="Rotation">${this.index + 1} / ${list.length} · next in ${left} s</span>`
          : ''}
        <span class="spacer"></span>
        ${live.state === 'open'
          ? ''
          : html`<span class="wallboard-offline" role="alert">Disconnected: values are not live, reconnecting…</span>`}
        <span class="wallboard-clock">${clockText}</span>
      </footer>
    </div>`;
  }
}
customElements.define('wb-wallboard-page', WbWallboardPage);
