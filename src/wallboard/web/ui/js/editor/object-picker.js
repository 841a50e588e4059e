// The wizard's objects step: for each object type the template shows, either chosen objects
// (searched through GET …/objects?type=&q= when the server has it, or typed by id) or the
// members of a group (agents of an agent group, queues of a queue group). Fires 'wb-change'
// with the widget's `objects` (docs/api.md, "Widgets").
import { html } from 'lit';
import { tenantApi } from '../api.js';
import { LightElement } from '../element.js';
import { hasObjectSearch } from './capabilities.js';
import { errorMessage } from './errors.js';

export const TYPE_LABELS = {
  agent: 'Agents',
  agent_group: 'Agent groups',
  queue: 'Queues',
  queue_group: 'Queue groups',
  routing_point: 'Routing points',
  virtual_queue: 'Virtual queues',
  tenant: 'The tenant',
};
const GROUP_OF = { agent: 'agent_group', queue: 'queue_group' };

function label(item) {
  return item.name || item.displayName || item.label || item.id;
}

class WbObjectPicker extends LightElement {
  static properties = {
    tenant: {},
    types: {}, // the template's object types
    value: {}, // the widget's objects: [{type, ids} | {type, group}]
    type: { state: true },
    search: { state: true }, // null: not looked up yet; false: the server has no object search
    query: { state: true },
    results: { state: true },
    error: { state: true },
    modes: { state: true }, // type → 'group' while its members of a group are being chosen
  };

  constructor() {
    super();
    this.types = [];
    this.value = [];
    this.type = null;
    this.search = null;
    this.query = '';
    this.results = [];
    this.error = null;
    this.timer = null;
    this.modes = {};
  }

  connectedCallback() {
    super.connectedCallback();
    hasObjectSearch().then((available) => {
      this.search = available;
      if (available) this.find();
    });
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this.timer);
  }

  willUpdate(changed) {
    if (changed.has('types') && !this.types.includes(this.type)) {
      this.type = this.value.find((s) => this.types.includes(s.type))?.type ?? this.types[0] ?? null;
    }
  }

  selection(type = this.type) {
    return this.value.find((s) => s.type === type) || null;
  }

  emit(type, selection) {
    const others = this.value.filter((s) => s.type !== type);
    const empty = !selection || (selection.ids && selection.ids.length === 0) || (selection.group === '' && !selection.ids);
    const value = empty ? others : [...others, selection];
    this.dispatchEvent(new CustomEvent('wb-change', { detail: value }));
  }

  setIds(ids) {
    this.emit(this.type, { type: this.type, ids });
  }

  toggle(id, on) {
    const ids = (this.selection()?.ids || []).filter((item) => item !== id);
    if (on) ids.push(id);
    this.setIds(ids);
  }

  addTyped(event) {
    event.preventDefault();
    event.stopPropagation();
    const input = this.querySelector('input[name="object-id"]');
    const ids = input.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (!ids.length) return;
    const current = this.selection()?.ids || [];
    this.setIds([...current, ...ids.filter((id) => !current.includes(id))]);
    input.value = '';
    input.focus();
  }

  typed(event) {
    this.query = event.target.value;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.find(), 250);
  }

  async find(type = this.type) {
    if (!this.search || !type) return;
    this.error = null;
    try {
      const q = encodeURIComponent(this.query);
      const { data } = await tenantApi(this.tenant).get(`/objects?type=${type}&q=${q}&limit=50`);
      if (type === this.type) this.results = data.items || [];
    } catch (error) {
      this.error = errorMessage(error, 'the object search');
    }
  }

  chooseType(type) {
    this.type = type;
    this.results = [];
    this.find(type);
  }

  renderIds() {
    const ids = this.selection()?.ids || [];
    return html`
      ${this.search
        ? html`<label class="field">
              <span>Search ${TYPE_LABELS[this.type]?.toLowerCase()}</span>
              <input type="search" name="object-search" .value=${this.query} @input=${this.typed}
                @keydown=${(e) => e.key === 'Enter' && e.preventDefault()} placeholder="Name or id">
            </label>
            <ul class="check-list scroll" aria-label="Found objects">
              ${this.results.length === 0 ? html`<li class="muted">Nothing found.</li>` : ''}
              ${this.results.map(
                (item) => html`<li><label class="check">
                  <input type="checkbox" .checked=${ids.includes(item.id)} @change=${(e) => this.toggle(item.id, e.target.checked)}>
                  <span>${label(item)}</span>
                  ${label(item) !== item.id ? html`<code class="muted">${item.id}</code>` : ''}
                  ${item.hasValues === false ? html`<span class="muted small">no values yet</span>` : ''}
                </label></li>`,
              )}
            </ul>`
        : this.search === false
          ? html`<p class="editor-notice" role="note">This server has no object search yet: add objects by their id.</p>`
          : ''}
      <div class="field-row">
        <label class="field grow">
          <span>Add by id</span>
          <input name="object-id" placeholder="e.g. sales (several: a, b, c)"
            @keydown=${(e) => e.key === 'Enter' && this.addTyped(e)}>
        </label>
        <button type="button" @click=${this.addTyped}>Add</button>
      </div>
      <ul class="chips" aria-label="Chosen ${TYPE_LABELS[this.type]?.toLowerCase()}">
        ${ids.map(
          (id) => html`<li class="chip">${id}
            <button type="button" class="icon-button" aria-label="Remove ${id}" @click=${() => this.toggle(id, false)}>✕</button></li>`,
        )}
      </ul>
    `;
  }

  render() {
    if (!this.type) return html`<p class="muted">This template shows no objects.</p>`;
    const selection = this.selection();
    const groupType = GROUP_OF[this.type];
    const byGroup = this.modes[this.type] === 'group' || typeof selection?.group === 'string';
    return html`<div class="object-picker">
      ${this.types.length > 1
        ? html`<div class="segmented" role="group" aria-label="Object type">
            ${this.types.map(
              (type) => html`<button type="button" aria-pressed=${type === this.type ? 'true' : 'false'} @click=${() => this.chooseType(type)}>
                ${TYPE_LABELS[type] || type}${this.selection(type) ? html` <span class="badge">${this.selection(type).ids?.length ?? 'group'}</span>` : ''}
              </button>`,
            )}
          </div>`
        : ''}
      ${this.type === 'tenant'
        ? html`<label class="check"><input type="checkbox" .checked=${!!selection}
            @change=${(e) => this.emit('tenant', e.target.checked ? { type: 'tenant', ids: [this.tenant] } : null)}>
            <span>The whole tenant (${this.tenant})</span></label>`
        : html`
          ${groupType
            ? html`<div class="segmented" role="group" aria-label="Which ${TYPE_LABELS[this.type].toLowerCase()}">
                <button type="button" aria-pressed=${byGroup ? 'false' : 'true'} @click=${() => {
                  this.modes = { ...this.modes, [this.type]: 'ids' };
                  this.setIds(selection?.ids || []);
                }}>Chosen ones</button>
                <button type="button" aria-pressed=${byGroup ? 'true' : 'false'}
                  @click=${() => {
                    this.modes = { ...this.modes, [this.type]: 'group' };
                    this.emit(this.type, { type: this.type, group: selection?.group || '' });
                  }}>Members of a ${TYPE_LABELS[groupType].toLowerCase().replace(/s$/, '')}</button>
              </div>`
            : ''}
          ${byGroup
            ? html`<label class="field">
                <span>${TYPE_LABELS[groupType].replace(/s$/, '')} id</span>
                <input name="group" .value=${selection?.group || ''} @input=${(e) => this.emit(this.type, { type: this.type, group: e.target.value.trim() })}>
              </label>`
            : this.renderIds()}
        `}
      ${this.error ? html`<p class="form-error" role="alert">${this.error}</p>` : ''}
    </div>`;
  }
}

customElements.define('wb-object-picker', WbObjectPicker);
