// The login page (#/login?next=…): username and password; on success the page loads again at
// `next`, so the boot document (the user's tenants) and the live channel start as that user.
// A throttled login (429) says how long to wait, counting down. With OpenID Connect configured
// (the boot document's `oidc`) it also offers the provider's login (back at / afterwards).
import { html } from 'lit';
import { auth } from '../auth.js';
import { boot } from '../boot.js';
import { LightElement } from '../element.js';

/** Where a login goes back to: a route of this UI (never another site, never the login). */
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return '/';
  return next.startsWith('/login') ? '/' : next;
}

/** Loads the page again at route `path`: a fresh boot document for the new user. */
export function reloadAt(path) {
  history.replaceState(null, '', `/#${path}`);
  location.reload();
}

class WbLoginPage extends LightElement {
  static properties = {
    next: {},
    error: { state: true },
    busy: { state: true },
    waitUntil: { state: true },
    now: { state: true },
  };

  constructor() {
    super();
    this.next = '/';
    this.error = null;
    this.busy = false;
    this.waitUntil = 0;
    this.now = Date.now();
    this.timer = null;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.timer);
  }

  firstUpdated() {
    this.querySelector('input[name=username]')?.focus();
  }

  get waitSeconds() {
    return Math.max(0, Math.ceil((this.waitUntil - this.now) / 1000));
  }

  async submit(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const username = String(form.get('username') || '').trim();
    const password = String(form.get('password') || '');
    if (!username || !password) {
      this.error = 'Enter your username and password.';
      return;
    }
    this.busy = true;
    this.error = null;
    try {
      await auth.login(username, password);
      reloadAt(safeNext(this.next));
    } catch (failure) {
      this.busy = false;
      if (failure.status === 429) {
        this.waitUntil = Date.now() + (failure.retryAfter || 60) * 1000;
        this.now = Date.now();
        clearInterval(this.timer);
        this.timer = setInterval(() => {
          this.now = Date.now();
          if (this.waitSeconds === 0) clearInterval(this.timer);
        }, 1000);
      } else if (failure.status === 401) {
        this.error = 'Wrong username or password.';
      } else {
        this.error = failure.message || `The login failed (HTTP ${failure.status ?? '?'}).`;
      }
    }
  }

  render() {
    const wait = this.waitSeconds;
    const message = wait > 0 ? `Too many attempts: try again in ${wait} s.` : this.error;
    return html`<form class="login" @submit=${this.submit} aria-labelledby="login-title">
      <h1 id="login-title">Log in to Wallboard</h1>
      <label>Username <input name="username" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      ${message ? html`<p class="form-error" role="alert">${message}</p>` : ''}
      <button type="submit" class="primary" ?disabled=${this.busy || wait > 0}>Log in</button>
      ${boot.oidc
        ? html`<a class="button" href="${boot.apiPrefix}/auth/oidc/login">Log in with single sign-on</a>`
        : ''}
    </form>`;
  }
}

customElements.define('wb-login-page', WbLoginPage);
