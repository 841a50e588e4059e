// What the server put in the page (wallboard/web/ui.py): tenants, the user, the standard statistics.
const element = document.getElementById('wallboard-boot');
export const boot = element
  ? JSON.parse(element.textContent)
  : { apiPrefix: '/api/v1', user: null, tenants: [], statistics: {} };
