// A modal dialog for the editors: the browser's own <dialog> (focus trapped inside, Escape
// closes it), opened as soon as it is rendered. Subclasses render their body with
// `renderDialog(title, body)`; closing fires 'wb-close' so the owner can remove it or
// navigate away.
import { html } from 'lit';
import { LightElement } from '../element.js';

export class EditorDialog extends LightElement {
  connectedCallback() {
    super.connectedCallback();
    // Where the focus goes back to when the dialog closes (the button that opened it).
    this.opener = document.activeElement;
  }

  firstUpdated() {
    const dialog = this.querySelector('dialog');
    dialog.addEventListener('close', () => {
      if (this.opener?.isConnected) this.opener.focus();
      this.dispatchEvent(new CustomEvent('wb-close', { bubbles: true }));
    });
    dialog.showModal();
  }

  /** Once the form is there (it may load first), its first field gets the focus. */
  updated() {
    if (this.focused) return;
    const field = this.querySelector('dialog form [autofocus], dialog form input, dialog form select, dialog form textarea');
    if (field) {
      this.focused = true;
      field.focus();
    }
  }

  close() {
    this.querySelector('dialog')?.close();
  }

  renderDialog(title, body, { wide = false } = {}) {
    return html`<dialog class="editor-dialog ${wide ? 'wide' : ''}" aria-label=${title}>
      <header class="dialog-head">
        <h2>${title}</h2>
        <button type="button" class="icon-button" aria-label="Close" title="Close (Esc)" @click=${() => this.close()}>✕</button>
      </header>
      ${body}
    </dialog>`;
  }
}
