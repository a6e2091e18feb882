// Says why the last login did not go through; the server redirects here with ?failed=<reason>.
const REASONS = {
  invalid: 'The access key id or the secret is wrong, or the user is not an administrator.',
  throttled: 'Too many failed logins from this address; wait a minute and try again.',
  missing: 'Give both the access key id and the secret access key.',
  unavailable: 'The managers cannot check logins right now (no leader?); try again in a moment.',
  expired: 'Your session has ended; log in again.',
};

const reason = new URLSearchParams(window.location.search).get('failed');
const problem = document.getElementById('login-problem');
if (reason !== null && problem !== null) {
  problem.textContent = REASONS[reason] ?? 'The login did not go through.';
  problem.hidden = false;
}
