// What the whole UI shares: the tenant shown (from the link, else the last chosen, else the
// first), and its API. 'wb-tenant' on document tells a change. The tenants are the user's
// (the boot document lists only those); a kiosk link names its tenant in the link.
import { auth } from './auth.js';
import { boot } from './boot.js';
import { tenantApi } from './api.js';

const KEY = 'wallboard.tenant';

function initialTenant() {
  const fromLink = new URLSearchParams(location.hash.split('?')[1] || '').get('tenant');
  if (auth.kiosk) return fromLink;
  const known = boot.tenants.map((t) => t.id);
  for (const candidate of [fromLink, localStorage.getItem(KEY)]) {
    if (candidate && known.includes(candidate)) return candidate;
  }
  return known[0] || null;
}

export const session = {
  tenant: initialTenant(),
  get api() {
    return tenantApi(this.tenant);
  },
  setTenant(tenant) {
    this.tenant = tenant;
    if (!auth.kiosk) localStorage.setItem(KEY, tenant);
    document.dispatchEvent(new CustomEvent('wb-tenant', { detail: tenant }));
  },
};
