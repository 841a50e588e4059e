// Static text (the widget's own text, shown as text, never as HTML) and iframe (an http(s) page,
// sandboxed).
import { html } from 'lit';
import { LightElement } from '../element.js';

class WbStaticText extends LightElement {
  static properties = { widget: {} };
  render() {
    return html`<div class="static-text">${this.widget.options?.text || ''}</div>`;
  }
}
customElements.define('wb-static-text', WbStaticText);

class WbIframe extends LightElement {
  static properties = { widget: {} };
  render() {
    const url = this.widget.options?.url;
    if (!url || !/^https?:\/\//.test(url)) return html`<div class="widget-empty">No page to show</div>`;
    return html`<iframe class="widget-iframe" src=${url} title=${this.widget.title}
      sandbox="allow-scripts allow-same-origin allow-forms" referrerpolicy="no-referrer" loading="lazy"></iframe>`;
  }
}
customElements.define('wb-iframe', WbIframe);
