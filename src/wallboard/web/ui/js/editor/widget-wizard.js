// The widget wizard: template → objects → display type → options, with a live preview, for a
// new widget or one to change (the same steps; a change is sent with If-Match, and a 412 says
// someone saved in between and offers reload or overwrite). Fires 'wb-saved' ({detail: the
// widget}) and document's 'wb-dashboard-changed' ({detail: {uid, widget}}) before closing.
import { html } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { tenantApi } from '../api.js';
import { EditorDialog } from './dialog.js';
import { errorMessage, isVersionMismatch } from './errors.js';
import { TYPE_LABELS } from './object-picker.js';
import {
  DISPLAY_TYPES,
  allowedDisplayTypes,
  nextPosition,
  showsData,
  templateStatistics,
  thresholdScale,
} from './widget-model.js';
import './object-picker.js';
import './widget-preview.js';

const STEPS = [
  { id: 'template', label: 'Template' },
  { id: 'objects', label: 'Objects' },
  { id: 'display', label: 'Display' },
  { id: 'options', label: 'Options' },
];

/** Every template of the tenant (the list is paged). */
async function allTemplates(api) {
  const items = [];
  for (let page = 1; page <= 20; page += 1) {
    const { data } = await api.get(`/templates?limit=100&page=${page}&sorting=name`);
    items.push(...data.items);
    if (page >= data.pagination.maxPage) break;
  }
  return items;
}

class WbWidgetWizard extends EditorDialog {
  static properties = {
    tenant: {},
    dashboard: {}, // the dashboard's uid
    widgetUid: {}, // null: a new widget
    templates: { state: true },
    draft: { state: true },
    step: { state: true },
    filter: { state: true },
    error: { state: true },
    mismatch: { state: true },
    busy: { state: true },
  };

  constructor() {
    super();
    this.widgetUid = null;
    this.templates = null;
    this.draft = null;
    this.step = 'template';
    this.filter = '';
    this.error = null;
    this.mismatch = false;
    this.busy = false;
    this.etag = null;
    this.widgets = [];
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  get api() {
    return tenantApi(this.tenant);
  }

  get template() {
    return this.templates?.find((t) => t.uid === this.draft?.templateUid) || null;
  }

  async load() {
    this.error = null;
    this.mismatch = false;
    try {
      const board = `/dashboards/${encodeURIComponent(this.dashboard)}`;
      const [templates, dashboard] = await Promise.all([allTemplates(this.api), this.api.get(board)]);
      this.widgets = dashboard.data.widgets;
      if (this.widgetUid) {
        const { data, etag } = await this.api.get(`${board}/widgets/${encodeURIComponent(this.widgetUid)}`);
        this.etag = etag;
        const { uid, version, ...draft } = data;
        this.draft = draft;
        if (!this.draft.templateUid) this.freeTemplate = templates.find((t) => !showsData(t) && t.defaultDisplayType === data.displayType)?.uid;
        if (this.step === 'template') this.step = 'options';
      } else {
        this.draft = { title: '', templateUid: null, displayType: null, objects: [], options: {}, position: null };
      }
      this.templates = templates;
    } catch (error) {
      this.error = errorMessage(error, 'this widget');
    }
  }

  update_(changes) {
    this.draft = { ...this.draft, ...changes };
  }

  option(name, value) {
    const options = { ...this.draft.options };
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && !value.length)) delete options[name];
    else options[name] = value;
    this.update_({ options });
  }

  chooseTemplate(template) {
    const allowed = allowedDisplayTypes(template);
    const displayType = allowed.includes(template.defaultDisplayType) ? template.defaultDisplayType : allowed[0];
    const data = showsData(template);
    const keepObjects = data && this.draft.templateUid === template.uid;
    this.freeTemplate = data ? null : template.uid;
    this.update_({
      templateUid: data ? template.uid : null,
      displayType,
      objects: keepObjects ? this.draft.objects : [],
      options: keepObjects ? this.draft.options : {},
      title: this.draft.title || template.name,
    });
    this.step = data ? 'objects' : 'display';
  }

  /** Whether a step can be shown yet (a new widget goes through them in order). */
  reachable(step) {
    if (step === 'template') return true;
    if (!this.draft?.displayType) return false;
    if (step === 'objects') return showsData(this.template);
    return true;
  }

  steps() {
    return STEPS.filter((s) => s.id !== 'objects' || showsData(this.template) || !this.draft?.displayType);
  }

  go(offset) {
    const steps = this.steps().map((s) => s.id);
    const next = steps[steps.indexOf(this.step) + offset];
    if (next && this.reachable(next)) this.step = next;
  }

  /** The widget as the API takes it. */
  body() {
    const { title, templateUid, displayType, objects, options } = this.draft;
    const body = { title: title.trim(), templateUid, displayType, objects, options };
    if (!this.widgetUid) body.position = nextPosition(this.widgets, displayType);
    return body;
  }

  submit(event) {
    event.preventDefault();
    if (this.step !== 'options') {
      this.go(1);
      return;
    }
    this.save();
  }

  async save({ overwrite = false } = {}) {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    const base = `/dashboards/${encodeURIComponent(this.dashboard)}/widgets`;
    try {
      const { data } = this.widgetUid
        ? await this.api.patch(`${base}/${encodeURIComponent(this.widgetUid)}`, this.body(), overwrite ? '*' : this.etag)
        : await this.api.post(base, this.body());
      this.mismatch = false;
      this.dispatchEvent(new CustomEvent('wb-saved', { detail: data, bubbles: true }));
      document.dispatchEvent(new CustomEvent('wb-dashboard-changed', { detail: { uid: this.dashboard, widget: data.uid } }));
      this.close();
    } catch (error) {
      this.mismatch = isVersionMismatch(error);
      this.error = errorMessage(error, 'this widget');
    } finally {
      this.busy = false;
    }
  }

  renderTemplateStep() {
    const filter = this.filter.trim().toLowerCase();
    const templates = this.templates.filter((t) => !filter || `${t.name} ${t.description}`.toLowerCase().includes(filter));
    const chosen = this.draft.templateUid || this.freeTemplate;
    return html`
      <label class="field">
        <span>Find a template</span>
        <input type="search" name="template-filter" .value=${this.filter} @input=${(e) => (this.filter = e.target.value)}
          @keydown=${(e) => e.key === 'Enter' && e.preventDefault()}>
      </label>
      <ul class="choice-list" aria-label="Templates">
        ${templates.map(
          (t) => html`<li>
            <button type="button" class=${classMap({ choice: true, selected: t.uid === chosen })} aria-pressed=${t.uid === chosen ? 'true' : 'false'}
              @click=${() => this.chooseTemplate(t)}>
              <span class="choice-title">${t.name}</span>
              <span class="muted">${t.description}</span>
              <span class="meta">${t.objectTypes.map((o) => TYPE_LABELS[o] || o).join(', ')} · ${t.statistics.length} statistics</span>
            </button>
          </li>`,
        )}
      </ul>`;
  }

  renderObjectsStep() {
    return html`<wb-object-picker .tenant=${this.tenant} .types=${this.template?.objectTypes || []} .value=${this.draft.objects}
      @wb-change=${(e) => this.update_({ objects: e.detail })}></wb-object-picker>`;
  }

  renderDisplayStep() {
    const allowed = allowedDisplayTypes(this.template || this.templates.find((t) => t.uid === this.freeTemplate));
    return html`<div class="choice-grid" role="radiogroup" aria-label="Display type">
      ${allowed.map(
        (type) => html`<button type="button" role="radio" aria-checked=${type === this.draft.displayType ? 'true' : 'false'}
          class=${classMap({ choice: true, selected: type === this.draft.displayType })}
          @click=${() => this.update_({ displayType: type })}>
          <span class="choice-title">${DISPLAY_TYPES[type].label}</span>
          <span class="muted">${DISPLAY_TYPES[type].hint}</span>
        </button>`,
      )}
    </div>`;
  }

  renderThresholds(columns) {
    const overrides = this.draft.options.thresholds || {};
    const set = (id, field, raw, factor, base) => {
      const current = { ...(overrides[id] || {}) };
      if (field === 'direction') current.direction = raw;
      else if (raw === '') delete current[field];
      else current[field] = Number(raw) * factor;
      const next = { ...overrides };
      if (current.warning === undefined && current.critical === undefined) delete next[id];
      else next[id] = { direction: base.direction || 'above', ...current };
      this.option('thresholds', Object.keys(next).length ? next : null);
    };
    return html`<table class="threshold-table">
      <thead><tr><th scope="col">Statistic</th><th scope="col">Warning</th><th scope="col">Critical</th><th scope="col">Worse when</th></tr></thead>
      <tbody>
        ${columns.map((s) => {
          const own = overrides[s.id];
          const base = s.thresholds || {};
          const { factor, unit } = thresholdScale(s.format);
          const shown = (v) => (v === undefined || v === null ? '' : String(v / factor));
          return html`<tr>
            <th scope="row">${s.label}${unit ? html` <span class="muted">(${unit})</span>` : ''}</th>
            <td><input type="number" step="any" aria-label="Warning of ${s.label}" .value=${shown(own?.warning)} placeholder=${shown(base.warning)}
              @input=${(e) => set(s.id, 'warning', e.target.value, factor, base)}></td>
            <td><input type="number" step="any" aria-label="Critical of ${s.label}" .value=${shown(own?.critical)} placeholder=${shown(base.critical)}
              @input=${(e) => set(s.id, 'critical', e.target.value, factor, base)}></td>
            <td><select aria-label="Direction of ${s.label}" @change=${(e) => set(s.id, 'direction', e.target.value, factor, base)}>
              ${['above', 'below'].map((d) => html`<option value=${d} ?selected=${(own?.direction || base.direction || 'above') === d}>${d === 'above' ? 'higher' : 'lower'}</option>`)}
            </select></td>
          </tr>`;
        })}
      </tbody>
    </table>
    <p class="muted small">Empty: the template's thresholds (shown greyed).</p>`;
  }

  renderOptionsStep() {
    const d = this.draft;
    const type = d.displayType;
    const stats = templateStatistics(this.template);
    const columns = d.options.columns || [];
    const toggle = (id, on) => {
      const next = stats.map((s) => s.id).filter((sid) => (sid === id ? on : columns.includes(sid)));
      this.option('columns', next);
    };
    const shown = columns.length ? stats.filter((s) => columns.includes(s.id)) : type === 'kpi' ? stats.slice(0, 1) : stats;
    return html`
      <label class="field">
        <span>Title</span>
        <input name="title" required maxlength="200" .value=${d.title} @input=${(e) => this.update_({ title: e.target.value })}>
      </label>
      ${type === 'static_text'
        ? html`<label class="field"><span>Text</span>
            <textarea name="text" rows="4" required .value=${d.options.text || ''} @input=${(e) => this.option('text', e.target.value)}></textarea></label>`
        : ''}
      ${type === 'iframe'
        ? html`<label class="field"><span>Address (http or https)</span>
            <input name="url" type="url" required pattern="https?://.+" .value=${d.options.url || ''} @input=${(e) => this.option('url', e.target.value.trim())}></label>`
        : ''}
      ${stats.length
        ? html`<fieldset>
              <legend>Statistics shown ${columns.length ? '' : html`<span class="muted">(none ticked: ${type === 'kpi' ? 'the first' : 'all'})</span>`}</legend>
              <ul class="check-list columns" aria-label="Columns">
                ${stats.map(
                  (s) => html`<li><label class="check">
                    <input type="checkbox" name="column" value=${s.id} .checked=${columns.includes(s.id)} @change=${(e) => toggle(s.id, e.target.checked)}>
                    <span>${s.label}</span> <span class="badge">${s.format}</span>
                  </label></li>`,
                )}
              </ul>
            </fieldset>
            ${['list', 'grid', 'alert_list'].includes(type)
              ? html`<div class="field-row">
                  <label class="field"><span>Sort by</span>
                    <select name="sort" @change=${(e) => this.option('sort', e.target.value ? { by: e.target.value, descending: !!d.options.sort?.descending } : null)}>
                      <option value="" ?selected=${!d.options.sort}>Object</option>
                      ${shown.map((s) => html`<option value=${s.id} ?selected=${d.options.sort?.by === s.id}>${s.label}</option>`)}
                    </select></label>
                  <label class="check"><input type="checkbox" name="descending" .checked=${!!d.options.sort?.descending} ?disabled=${!d.options.sort}
                    @change=${(e) => this.option('sort', { ...d.options.sort, descending: e.target.checked })}><span>Descending</span></label>
                </div>`
              : ''}
            ${type === 'kpi'
              ? html`<label class="field inline"><span>Size</span>
                  <select name="size" @change=${(e) => this.option('size', e.target.value || null)}>
                    ${['', 'small', 'medium', 'large', 'fill'].map((s) => html`<option value=${s} ?selected=${(d.options.size || '') === s}>${s || 'Default'}</option>`)}
                  </select></label>`
              : ''}
            <fieldset><legend>Thresholds</legend>${this.renderThresholds(shown)}</fieldset>
            <p class="muted small">Formats (time, percent, …) belong to the template: change them under Templates.</p>`
        : ''}
    `;
  }

  renderStep() {
    switch (this.step) {
      case 'objects':
        return this.renderObjectsStep();
      case 'display':
        return this.renderDisplayStep();
      case 'options':
        return this.renderOptionsStep();
      default:
        return this.renderTemplateStep();
    }
  }

  renderBody() {
    if (!this.templates || !this.draft) {
      return this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : html`<p class="muted">Loading…</p>`;
    }
    const steps = this.steps();
    const index = steps.findIndex((s) => s.id === this.step);
    const widget = { ...this.draft, title: this.draft.title || this.template?.name || '' };
    return html`<form class="editor-form wizard" @submit=${this.submit}>
      <ol class="steps" aria-label="Steps">
        ${steps.map(
          (s, i) => html`<li><button type="button" ?disabled=${!this.reachable(s.id)} aria-current=${s.id === this.step ? 'step' : 'false'}
            @click=${() => (this.step = s.id)}><span class="step-number">${i + 1}</span> ${s.label}</button></li>`,
        )}
      </ol>
      <div class="wizard-panes">
        <section class="wizard-step" aria-label=${steps[index]?.label}>${this.renderStep()}</section>
        <aside class="wizard-preview">
          ${this.draft.displayType
            ? html`<wb-widget-preview .tenant=${this.tenant} .widget=${widget} .template=${this.template}></wb-widget-preview>`
            : html`<p class="muted">The preview appears once a template is chosen.</p>`}
        </aside>
      </div>
      ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ''}
      <footer class="dialog-actions">
        ${this.mismatch
          ? html`<button type="button" @click=${() => this.load()}>Reload</button>
              <button type="button" @click=${() => this.save({ overwrite: true })}>Overwrite</button>`
          : ''}
        <span class="spacer"></span>
        <button type="button" @click=${() => this.close()}>Cancel</button>
        ${index > 0 ? html`<button type="button" @click=${() => this.go(-1)}>Back</button>` : ''}
        ${this.step === 'options'
          ? html`<button type="submit" class="primary" ?disabled=${this.busy}>${this.widgetUid ? 'Save widget' : 'Add widget'}</button>`
          : html`<button type="submit" class="primary" ?disabled=${!this.reachable(steps[index + 1]?.id)}>Next</button>`}
      </footer>
    </form>`;
  }

  render() {
    return this.renderDialog(this.widgetUid ? 'Edit widget' : 'Add a widget', this.renderBody(), { wide: true });
  }
}

customElements.define('wb-widget-wizard', WbWidgetWizard);
