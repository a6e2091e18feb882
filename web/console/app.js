// The console's pages. Everything comes from the console's own /api (the admin commands of
// leofs-adm); every change is a POST carrying this session's CSRF token. Text is only ever set
// with textContent, never parsed as HTML.
const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568'];

let session = null;
let events = null;

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className !== undefined) node.className = className;
  return node;
}

function showProblem(message) {
  const problem = $('problem');
  problem.textContent = message ?? '';
  problem.hidden = message === undefined;
}

function showNotice(message) {
  const notice = $('notice');
  notice.textContent = message ?? '';
  notice.hidden = message === undefined;
}

function toLogin(reason) {
  window.location.assign(reason ? `/login?failed=${reason}` : '/login');
}

async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    toLogin('expired');
    throw new Error('logged out');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code}: ${body.message}`);
  return body;
}

async function post(path, fields) {
  const response = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken },
    body: JSON.stringify(fields),
  });
  if (response.status === 401) {
    toLogin('expired');
    throw new Error('logged out');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code}: ${body.message}`);
  return body;
}

function when(ms) {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

// --- Cluster -------------------------------------------------------------------------------

function colourOf(node, storageNodes) {
  return COLOURS[Math.max(0, storageNodes.indexOf(node)) % COLOURS.length];
}

function drawRing(view) {
  const svg = $('ring');
  const legend = $('ring-legend');
  svg.replaceChildren();
  legend.replaceChildren();
  if (view.ring === null) {
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('text-anchor', 'middle');
    text.textContent = 'no ring yet (leofs-adm start)';
    svg.append(text);
    return;
  }
  const nodes = view.ring.shares.map((entry) => entry.node);
  const radius = 100;
  for (const arc of view.ring.arcs) {
    const path = document.createElementNS(SVG, 'path');
    const point = (fraction) => {
      const angle = fraction * 2 * Math.PI;
      return `${(radius * Math.sin(angle)).toFixed(3)} ${(-radius * Math.cos(angle)).toFixed(3)}`;
    };
    const large = arc.end - arc.start > 0.5 ? 1 : 0;
    path.setAttribute('d', `M ${point(arc.start)} A ${radius} ${radius} 0 ${large} 1 ${point(arc.end)}`);
    path.setAttribute('stroke', colourOf(arc.node, nodes));
    path.setAttribute('class', 'arc');
    path.dataset.node = arc.node;
    svg.append(path);
  }
  const centre = document.createElementNS(SVG, 'text');
  centre.setAttribute('text-anchor', 'middle');
  centre.setAttribute('class', 'ring-centre');
  centre.textContent = view.checksum;
  svg.append(centre);
  for (const entry of view.ring.shares) {
    const item = element('li');
    const swatch = element('span', '', 'swatch');
    swatch.classList.add(`swatch-${nodes.indexOf(entry.node) % COLOURS.length}`);
    item.append(swatch, element('span', `${entry.node} ${(entry.share * 100).toFixed(1)}%`));
    item.dataset.node = entry.node;
    legend.append(item);
  }
}

function progressRow(node, done, total, text) {
  const row = element('div', undefined, 'bar-row');
  row.dataset.node = node;
  const bar = element('progress');
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, bar.max);
  row.append(element('span', node), bar, element('span', text));
  return row;
}

// The last rebalance seen running, so that its end is shown as such rather than the bars vanishing.
let lastRebalance = null;

function drawRebalance(view) {
  const section = $('rebalance');
  const bars = $('rebalance-bars');
  bars.replaceChildren();
  const rebalance = view.rebalance;
  const running = Boolean(rebalance && rebalance.running);
  if (running) lastRebalance = rebalance;
  section.hidden = lastRebalance === null;
  $('start-rebalance').disabled = running;
  const pending = view.members.filter((member) => member.role === 'storage' && (member.state === 'attached' || member.state === 'detached'));
  $('rebalance-hint').textContent = running
    ? 'a rebalance is moving data'
    : pending.length > 0
      ? `waiting for a rebalance: ${pending.map((member) => `${member.node} (${member.state})`).join(', ')}`
      : 'no node waits for a rebalance';
  if (section.hidden) return;
  // A reading taken before the rebalance began has an older ring: it is starting, not finished.
  const state = running ? 'running' : view.epoch < lastRebalance.epoch ? 'starting' : 'finished';
  $('rebalance-state').textContent = `epoch ${lastRebalance.epoch}, ${state}`;
  $('rebalance-state').dataset.state = state;
  if (state === 'finished' && moved.epoch !== lastRebalance.epoch) void loadMoved(lastRebalance, view);
  for (const receiver of lastRebalance.receivers) {
    const status = receiver.status;
    const total = status?.segments ?? 0;
    if (state === 'finished') {
      const received = moved.epoch === lastRebalance.epoch ? moved.nodes.get(receiver.node) : undefined;
      const row = progressRow(receiver.node, 1, 1, received ? `100% (done: ${received.objects} objects, ${sizeText(received.bytes)} received)` : '100% (done)');
      if (received) {
        row.dataset.objects = String(received.objects);
        row.dataset.bytes = String(received.bytes);
      }
      bars.append(row);
      continue;
    }
    const done = status?.segmentsDone ?? 0;
    const row = progressRow(receiver.node, done, total, total > 0 ? `${Math.floor((done / total) * 100)}% (${done} / ${total} segments, ${status.objects} objects, ${sizeText(status.bytes)}, ${rateText(status.bytesPerSec)}, ${etaText(status.etaSeconds)})` : 'waiting');
    if (status) {
      row.dataset.objects = String(status.objects);
      row.dataset.bytes = String(status.bytes);
    }
    bars.append(row);
  }
}

function rateText(bytesPerSec) {
  return typeof bytesPerSec === 'number' ? `${sizeText(bytesPerSec)}/s` : 'rate unknown';
}

function etaText(seconds) {
  if (typeof seconds !== 'number') return 'ETA unknown';
  if (seconds < 60) return `ETA ${seconds} s`;
  if (seconds < 3600) return `ETA ${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `ETA ${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

// What each receiver of the last finished rebalance took in, asked once it is over (the ring keeper
// forgets the receivers then; each node's hand-off keeps its totals for the epoch).
let moved = { epoch: null, nodes: new Map() };

async function loadMoved(rebalance, view) {
  moved = { epoch: rebalance.epoch, nodes: new Map() };
  const found = moved;
  await Promise.all(
    rebalance.receivers.map(async ({ node }) => {
      try {
        const { handoff } = await getJson(`/api/queues?node=${encodeURIComponent(node)}`);
        if (handoff) found.nodes.set(node, handoff);
      } catch {
        // Shown as done without the totals.
      }
    }),
  );
  if (moved === found && found.nodes.size > 0) drawRebalance(view);
}

// Recovery (recover-node, recover-consistency) is read while one runs, and once when the page opens.
let recoveryRunning = true;

async function loadRecovery() {
  const { nodes, unreachable } = await getJson('/api/recovery');
  const bars = $('recovery-bars');
  bars.replaceChildren();
  const shown = nodes.filter((entry) => entry.recovery !== null);
  recoveryRunning = shown.some((entry) => !entry.recovery.finished);
  $('recovery').hidden = shown.length === 0;
  for (const { node, recovery } of shown) {
    const what = recovery.kind === 'node' ? `recover-node ${recovery.peers.join(', ')}` : 'recover-consistency';
    const state = recovery.finished ? 'done' : 'running';
    const text = `${what}: ${recovery.rangesDone} / ${recovery.ranges} ranges, ${recovery.keysSynced} keys repaired, ${state}`;
    bars.append(progressRow(node, recovery.rangesDone, recovery.ranges, text));
  }
  if (unreachable.length > 0) bars.append(element('p', `no answer from ${unreachable.join(', ')}`, 'hint'));
}

// --- Node actions --------------------------------------------------------------------------

// What an operator may ask of a storage node in each state; the manager checks again and says why not.
const NODE_ACTIONS = {
  running: ['suspend', 'detach'],
  suspend: ['resume', 'detach'],
  detached: ['rollback'],
  stop: ['detach'],
  attached: ['detach'],
  restarted: ['detach'],
};

// Detaching moves the node's data away at the next rebalance: asked twice.
const CONFIRM = {
  detach: (node) => `Detach ${node}? The next rebalance moves its data to the other nodes and takes it out of the ring.`,
};

async function nodeAction(action, node) {
  const question = CONFIRM[action];
  if (question && !window.confirm(question(node))) return;
  try {
    const done = await post('/api/nodes/action', { action, node });
    showProblem();
    showNotice(done.message);
  } catch (error) {
    showProblem(error.message);
  }
}

$('start-rebalance').addEventListener('click', async () => {
  if (!window.confirm('Start a rebalance? Attached nodes enter the ring, detached ones leave it, and data moves between the storage nodes until it is done.')) return;
  try {
    const started = await post('/api/rebalance/start', {});
    showProblem(started.started ? undefined : 'nothing to rebalance: no node is attached or detached');
    if (started.started) {
      lastRebalance = { epoch: started.epoch, receivers: started.receivers.map((node) => ({ node, status: null })) };
      showNotice(`rebalance to ring epoch ${started.epoch} started${started.joined.length > 0 ? `; joining: ${started.joined.join(', ')}` : ''}${started.left.length > 0 ? `; leaving: ${started.left.join(', ')}` : ''}`);
    }
  } catch (error) {
    showProblem(error.message);
  }
});

// Each node's disk, from its watchdog's last reading (leofs-adm status NODE), read every DISK_REFRESH_MS
// beside the live feed: the feed's cluster status does not carry it.
const DISK_REFRESH_MS = 15_000;
const diskUse = new Map();
let diskNodes = [];

function diskText(readings) {
  if (!readings || typeof readings.diskTotalBytes !== 'number' || typeof readings.diskFreeBytes !== 'number' || readings.diskTotalBytes <= 0) return '-';
  const used = readings.diskTotalBytes - readings.diskFreeBytes;
  return `${Math.round((used / readings.diskTotalBytes) * 100)}% of ${sizeText(readings.diskTotalBytes)}`;
}

async function refreshDisks() {
  await Promise.all(
    diskNodes.map(async (node) => {
      try {
        const status = await getJson(`/api/node?node=${encodeURIComponent(node)}`);
        diskUse.set(node, diskText(status.watchdog?.readings));
      } catch {
        diskUse.set(node, '?');
      }
      const cell = document.querySelector(`#nodes tr[data-node="${CSS.escape(node)}"] td.disk`);
      if (cell) cell.textContent = diskUse.get(node);
    }),
  );
}

function drawCluster(view) {
  const known = diskNodes.length > 0;
  diskNodes = view.members.filter((member) => member.role === 'storage').map((member) => member.node);
  if (!known && diskNodes.length > 0) {
    void refreshDisks();
    window.setInterval(() => void refreshDisks(), DISK_REFRESH_MS);
  }
  $('ring-checksum').textContent = view.checksum;
  $('ring-consistent').textContent = view.consistent ? 'yes' : 'no';
  $('ring-consistent').className = view.consistent ? 'good' : 'bad';
  $('ring-settings').textContent = view.settings ? `N=${view.settings.n} W=${view.settings.w} R=${view.settings.r} D=${view.settings.d}` : 'not started';
  $('updated').textContent = new Date().toLocaleTimeString();
  const body = $('nodes').tBodies[0];
  body.replaceChildren();
  for (const member of view.members) {
    const row = element('tr');
    row.dataset.role = member.role;
    row.dataset.node = member.node;
    const ring = member.ringChecksum === null ? '-' : `${member.ringChecksum}${member.ringAgrees ? '' : ' (differs)'}`;
    row.append(
      element('td', member.node),
      element('td', member.role),
      element('td', member.state, `state-${member.state}`),
      element('td', member.address ?? '-'),
      element('td', ring, member.ringAgrees || member.ringChecksum === null ? '' : 'bad'),
      element('td', diskUse.get(member.node) ?? '-', 'disk'),
      element('td', member.alarms.join(', ') || '-', member.alarms.length > 0 ? 'bad' : ''),
    );
    const actions = element('td', undefined, 'actions');
    if (member.role === 'storage' && view.settings !== null) {
      for (const action of NODE_ACTIONS[member.state] ?? []) {
        const button = element('button', action[0].toUpperCase() + action.slice(1), action === 'detach' ? 'danger' : undefined);
        button.type = 'button';
        button.dataset.action = action;
        button.addEventListener('click', () => nodeAction(action, member.node));
        actions.append(button, ' ');
      }
    }
    row.append(actions);
    body.append(row);
  }
  drawRing(view);
  drawRebalance(view);
  if (recoveryRunning) loadRecovery().catch((error) => showProblem(error.message));
}

function follow() {
  if (events !== null) return;
  events = new EventSource('/api/events');
  events.addEventListener('cluster', (event) => {
    showProblem();
    drawCluster(JSON.parse(event.data));
  });
  events.addEventListener('problem', (event) => {
    const problem = JSON.parse(event.data);
    showProblem(`${problem.code}: ${problem.message}`);
  });
  events.addEventListener('ended', () => toLogin('expired'));
}

function unfollow() {
  events?.close();
  events = null;
}

// --- Accounts and buckets ------------------------------------------------------------------

async function loadAccounts() {
  const [{ users }, { buckets }] = await Promise.all([getJson('/api/users'), getJson('/api/buckets')]);
  const userBody = $('users').tBodies[0];
  userBody.replaceChildren();
  const owner = $('bucket-owner');
  owner.replaceChildren();
  for (const user of users) {
    const row = element('tr');
    row.dataset.user = user.userId;
    const keys = element('button', 'Keys');
    keys.type = 'button';
    keys.className = 'keys-button';
    keys.addEventListener('click', () => showKeys(user.userId));
    const remove = element('button', 'Delete', 'danger');
    remove.type = 'button';
    remove.addEventListener('click', () => act(`Delete user ${user.userId}?`, '/api/users/delete', { userId: user.userId }));
    const cell = element('td', undefined, 'actions');
    cell.append(keys, ' ', remove);
    row.append(element('td', user.userId), element('td', user.role), element('td', user.accessKeyId, 'mono'), element('td', when(user.createdAtMs)), cell);
    userBody.append(row);
    const option = element('option', `${user.userId} (${user.accessKeyId})`);
    option.value = user.accessKeyId;
    owner.append(option);
  }
  const keyOf = new Map(users.map((user) => [user.userId, user.accessKeyId]));
  const bucketBody = $('buckets').tBodies[0];
  bucketBody.replaceChildren();
  for (const bucket of buckets) {
    const row = element('tr');
    row.dataset.bucket = bucket.name;
    const remove = element('button', 'Delete', 'danger');
    remove.type = 'button';
    remove.addEventListener('click', () =>
      act(`Delete bucket ${bucket.name} and everything in it?`, '/api/buckets/delete', { bucket: bucket.name, accessKeyId: keyOf.get(bucket.owner) ?? '' }),
    );
    const cell = element('td');
    cell.append(remove);
    row.append(element('td', bucket.name), element('td', bucket.owner), element('td', bucket.acl), element('td', when(bucket.createdAtMs)), cell);
    bucketBody.append(row);
  }
  loadBucketExtras();
}

// --- Bucket sizes and endpoints: read after the tables are drawn, so a count under way never holds the page up.

function sizeText(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

async function loadBucketExtras() {
  // Objects and Size go after ACL, before Created, in the rows just drawn.
  const cells = new Map();
  for (const row of $('buckets').tBodies[0].rows) {
    const objects = element('td', '…');
    const size = element('td', '…');
    row.insertBefore(objects, row.cells[3]);
    row.insertBefore(size, row.cells[4]);
    cells.set(row.dataset.bucket, { objects, size });
  }
  const note = $('bucket-stats-note');
  note.textContent = 'counting objects and sizes…';
  await Promise.all([
    getJson('/api/bucket-stats').then(
      (stats) => {
        const counted = new Set();
        for (const bucket of stats.buckets) {
          const cell = cells.get(bucket.bucket);
          if (cell === undefined) continue;
          counted.add(bucket.bucket);
          cell.objects.textContent = String(bucket.objects);
          cell.size.textContent = sizeText(bucket.bytes);
          cell.size.title = `${bucket.bytes} bytes, every version${bucket.noncurrentVersions > 0 ? `; ${bucket.noncurrentVersions} older versions take ${sizeText(bucket.noncurrentBytes)}` : ''}`;
        }
        // A bucket made after the (cached) count is counted by the next one.
        for (const [name, cell] of cells) {
          if (counted.has(name)) continue;
          cell.objects.textContent = cell.size.textContent = '-';
          cell.objects.title = cell.size.title = 'not counted yet: made after the last count';
        }
        const missing = stats.missing.map((entry) => `${entry.node} (${entry.reason})`).join(', ');
        note.textContent = `Counted ${when(stats.countedAtMs)} by ${stats.nodes.length} storage nodes; size counts every version.` +
          (stats.partial ? ` Partial: some keys are not counted${missing ? `; not counted: ${missing}` : ''}.` : '') +
          (stats.rebalancing ? ' A rebalance is moving data: keys not yet moved are not counted.' : '');
      },
      (error) => {
        for (const cell of cells.values()) cell.objects.textContent = cell.size.textContent = '?';
        note.textContent = `Objects and sizes could not be counted: ${error.message}`;
      },
    ),
    getJson('/api/endpoints').then(
      ({ endpoints }) => {
        const list = $('endpoints');
        list.replaceChildren(...endpoints.map((endpoint) => element('li', endpoint.host, 'mono')));
        if (endpoints.length === 0) list.append(element('li', 'none: buckets are served by path only'));
      },
      (error) => showProblem(error.message),
    ),
  ]);
}

// A user's access keys: at most two, so that one can be rotated without a moment in which none works.
const MAX_ACCESS_KEYS = 2;
let keysUser = null;

async function loadKeys() {
  if (keysUser === null) return;
  const { keys } = await getJson(`/api/access-keys?userId=${encodeURIComponent(keysUser)}`);
  const body = $('key-table').tBodies[0];
  body.replaceChildren();
  for (const key of keys) {
    const row = element('tr');
    row.dataset.key = key.accessKeyId;
    const remove = element('button', 'Delete', 'danger');
    remove.type = 'button';
    remove.disabled = keys.length === 1;
    remove.title = keys.length === 1 ? 'the last key stays; add another first' : '';
    remove.addEventListener('click', () => deleteKey(key.accessKeyId));
    const cell = element('td');
    cell.append(remove);
    row.append(element('td', key.accessKeyId, 'mono'), element('td', when(key.createdAtMs)), cell);
    body.append(row);
  }
  $('add-key').disabled = keys.length >= MAX_ACCESS_KEYS;
}

function showKeys(userId) {
  keysUser = userId;
  $('keys-user').textContent = userId;
  hideNewKey();
  $('keys').hidden = false;
  loadKeys().catch((error) => showProblem(error.message));
}

function hideNewKey() {
  $('new-key-id').textContent = '';
  $('new-key-secret').textContent = '';
  $('new-key').hidden = true;
}

async function deleteKey(accessKeyId) {
  if (!window.confirm(`Delete access key ${accessKeyId} of ${keysUser}? Requests signed with it are refused from now on.`)) return;
  try {
    await post('/api/access-keys/delete', { userId: keysUser, accessKeyId });
    showProblem();
  } catch (error) {
    showProblem(error.message);
  }
  await Promise.all([loadKeys(), loadAccounts()]).catch((error) => showProblem(error.message));
}

$('add-key').addEventListener('click', async () => {
  try {
    const added = await post('/api/access-keys/create', { userId: keysUser });
    $('new-key-id').textContent = added.key.accessKeyId;
    $('new-key-secret').textContent = added.key.secretAccessKey;
    $('new-key').hidden = false;
    showProblem();
  } catch (error) {
    showProblem(error.message);
  }
  await loadKeys().catch((error) => showProblem(error.message));
});

$('hide-key').addEventListener('click', hideNewKey);

$('close-keys').addEventListener('click', () => {
  hideNewKey();
  keysUser = null;
  $('keys').hidden = true;
});

async function act(question, path, fields) {
  if (!window.confirm(question)) return;
  try {
    await post(path, fields);
    showProblem();
  } catch (error) {
    showProblem(error.message);
  }
  await loadAccounts().catch((error) => showProblem(error.message));
}

function fieldsOf(form) {
  return Object.fromEntries([...new FormData(form)].filter(([, value]) => typeof value === 'string' && value.length > 0));
}

$('create-user').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    const created = await post('/api/users/create', fieldsOf(form));
    $('new-user-id').textContent = created.user.userId;
    $('new-access-key-id').textContent = created.user.accessKeyId;
    $('new-secret-access-key').textContent = created.user.secretAccessKey;
    $('new-secret').hidden = false;
    form.reset();
    showProblem();
  } catch (error) {
    showProblem(error.message);
  }
  await loadAccounts().catch((error) => showProblem(error.message));
});

$('hide-secret').addEventListener('click', () => {
  $('new-secret-access-key').textContent = '';
  $('new-secret').hidden = true;
});

$('create-bucket').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  try {
    await post('/api/buckets/create', fieldsOf(form));
    form.reset();
    showProblem();
  } catch (error) {
    showProblem(error.message);
  }
  await loadAccounts().catch((error) => showProblem(error.message));
});

// --- Queues and actors ----------------------------------------------------------------------

// The page is read again this often while it is shown.
const QUEUES_REFRESH_MS = 5_000;
const TRAFFIC_REFRESH_MS = 5_000;
let queuesTimer = null;

function queueRow(node, queue) {
  const row = element('tr');
  row.dataset.node = node;
  row.dataset.queue = queue.name;
  row.append(element('td', node), element('td', queue.name), element('td', queue.state, `queue-${queue.state}`), element('td', queue.size, queue.size > 0 ? 'busy' : ''));
  return row;
}

function backgroundRow(node, stats) {
  const row = element('tr');
  row.dataset.node = node;
  const ae = stats.antiEntropy;
  const handoff = stats.handoff;
  row.append(
    element('td', node),
    element('td', ae ? `${ae.rangesHeld} ranges, ${ae.urgentPending} comparisons queued, ${ae.keysSynced} keys repaired` : 'no answer'),
    element('td', handoff ? `${handoff.state}, ${handoff.segmentsDone} / ${handoff.segments} segments, ${handoff.objects} objects` : 'no answer'),
  );
  return row;
}

async function loadQueues() {
  const view = await getJson('/api/cluster');
  const storage = view.members.filter((member) => member.role === 'storage').map((member) => member.node);
  const answers = await Promise.all(storage.map((node) => getJson(`/api/queues?node=${encodeURIComponent(node)}`).then((stats) => ({ node, stats }), (error) => ({ node, error }))));
  const queues = $('queues').tBodies[0];
  const background = $('background').tBodies[0];
  queues.replaceChildren();
  background.replaceChildren();
  for (const { node, stats, error } of answers) {
    if (error) {
      const row = element('tr');
      row.dataset.node = node;
      const cell = element('td', error.message, 'bad');
      cell.colSpan = 3;
      row.append(element('td', node), cell);
      queues.append(row);
      continue;
    }
    for (const queue of stats.queues) queues.append(queueRow(node, queue));
    background.append(backgroundRow(node, stats));
  }
  const select = $('actors-node');
  const chosen = select.value;
  const nodes = view.members.map((member) => member.node);
  if ([...select.options].map((option) => option.value).join() !== nodes.join()) {
    select.replaceChildren(...nodes.map((node) => element('option', node)));
    select.value = nodes.includes(chosen) ? chosen : (storage[0] ?? nodes[0] ?? '');
  }
  await loadActors();
  $('queues-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function loadActors() {
  const node = $('actors-node').value;
  const body = $('actors').tBodies[0];
  if (!node) return body.replaceChildren();
  const { actors, atMs } = await getJson(`/api/actors?node=${encodeURIComponent(node)}`);
  body.replaceChildren();
  for (const actor of [...actors].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const parts = actor.path.split('/').filter((part) => part.length > 0);
    const row = element('tr');
    row.dataset.path = actor.path;
    const crash = actor.lastCrash ? `${Math.max(0, Math.round((atMs - actor.lastCrash.atMs) / 1000))}s ago: ${actor.lastCrash.reason}` : '';
    row.append(
      element('td', `${'  '.repeat(Math.max(0, parts.length - 1))}${parts.at(-1) ?? '/'}`, 'mono tree'),
      element('td', actor.status, actor.status === 'running' ? 'good' : 'bad'),
      element('td', actor.mailbox, actor.mailbox > 0 ? 'busy' : ''),
      // The first incarnation is the start; each later one a restart by its supervisor.
      element('td', Math.max(0, actor.incarnation - 1), actor.incarnation > 1 ? 'busy' : ''),
      element('td', actor.crashes, actor.crashes > 0 ? 'bad' : ''),
      element('td', crash),
    );
    row.title = actor.path;
    body.append(row);
  }
}

function refreshQueues() {
  loadQueues().catch((error) => showProblem(error.message));
}

$('refresh-queues').addEventListener('click', refreshQueues);
$('actors-node').addEventListener('change', () => loadActors().catch((error) => showProblem(error.message)));

// --- Traffic -------------------------------------------------------------------------------

const CHART_WIDTH = 360;
const CHART_HEIGHT = 120;
const CHART_MARGIN = { left: 44, right: 6, top: 6, bottom: 16 };
let trafficTimer = null;

/** A number for an axis: 1.2k, 3.4M. */
function short(value) {
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value >= 10 || value === 0 ? value.toFixed(0) : value.toFixed(1);
}

function svgNode(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * One chart of the hour as inline SVG: a line per series over time (x from an hour ago to now, y from
 * 0 to the highest value), a gap where no point was taken. Each line carries its points' values, so
 * what it shows can be read back.
 */
function chart(title, unit, series, points, nowMs, windowMs, gapMs) {
  const box = element('div', undefined, 'chart');
  box.dataset.chart = title;
  const heading = element('h3', `${title} (${unit}) `);
  series.forEach((entry, index) => heading.append(element('span', `— ${entry.name} `, `legend-${index}`)));
  box.append(heading);
  const svg = svgNode('svg', { width: CHART_WIDTH, height: CHART_HEIGHT, viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`, role: 'img', 'aria-label': title });
  const plotWidth = CHART_WIDTH - CHART_MARGIN.left - CHART_MARGIN.right;
  const plotHeight = CHART_HEIGHT - CHART_MARGIN.top - CHART_MARGIN.bottom;
  const values = series.flatMap((entry) => points.map(entry.value).filter((value) => value !== null));
  const top = Math.max(1e-9, ...values);
  const x = (atMs) => CHART_MARGIN.left + ((atMs - (nowMs - windowMs)) / windowMs) * plotWidth;
  const y = (value) => CHART_MARGIN.top + plotHeight - (value / top) * plotHeight;
  const bottom = CHART_MARGIN.top + plotHeight;
  svg.append(
    svgNode('line', { class: 'axis', x1: CHART_MARGIN.left, y1: bottom, x2: CHART_WIDTH - CHART_MARGIN.right, y2: bottom }),
    svgNode('line', { class: 'axis', x1: CHART_MARGIN.left, y1: CHART_MARGIN.top, x2: CHART_MARGIN.left, y2: bottom }),
    svgNode('text', { class: 'axis-label', x: CHART_MARGIN.left - 4, y: CHART_MARGIN.top + 8, 'text-anchor': 'end' }, short(values.length > 0 ? top : 0)),
    svgNode('text', { class: 'axis-label', x: CHART_MARGIN.left - 4, y: bottom, 'text-anchor': 'end' }, '0'),
    svgNode('text', { class: 'axis-label', x: CHART_MARGIN.left, y: CHART_HEIGHT - 3 }, '-60 min'),
    svgNode('text', { class: 'axis-label', x: CHART_WIDTH - CHART_MARGIN.right, y: CHART_HEIGHT - 3, 'text-anchor': 'end' }, 'now'),
  );
  series.forEach((entry, index) => {
    // A new run of the line after a gap, or after a span without a value (no request, no latency).
    const runs = [];
    let run = [];
    let lastMs = null;
    for (const point of points) {
      const value = entry.value(point);
      if (value === null || (lastMs !== null && point.atMs - lastMs > gapMs)) {
        if (run.length > 0) runs.push(run);
        run = [];
      }
      if (value !== null) run.push([point.atMs, value]);
      lastMs = point.atMs;
    }
    if (run.length > 0) runs.push(run);
    for (const line of runs) {
      const path = svgNode('polyline', { class: `series series-${index}`, points: line.map(([atMs, value]) => `${x(atMs).toFixed(1)},${y(value).toFixed(1)}`).join(' ') });
      path.dataset.series = entry.name;
      path.dataset.values = line.map(([, value]) => value.toFixed(3)).join(' ');
      svg.append(path);
    }
  });
  box.append(svg);
  return box;
}

async function loadTraffic() {
  const history = await getJson('/api/metrics');
  const container = $('traffic-nodes');
  container.replaceChildren();
  const gapMs = history.intervalMs * 3;
  for (const { node, role, points } of history.nodes) {
    const section = element('section', undefined, 'traffic-node');
    section.dataset.node = node;
    section.append(element('h2', `${node} (${role})`));
    const charts = element('div', undefined, 'charts');
    charts.append(
      chart('Requests', 'per second', [{ name: 'requests', value: (point) => point.requestsPerSecond }], points, history.atMs, history.windowMs, gapMs),
      chart('Latency', 'ms', [{ name: 'p50', value: (point) => point.p50Ms }, { name: 'p99', value: (point) => point.p99Ms }], points, history.atMs, history.windowMs, gapMs),
      chart('Bytes', 'per second', [{ name: 'in', value: (point) => point.receivedBytesPerSecond }, { name: 'out', value: (point) => point.sentBytesPerSecond }], points, history.atMs, history.windowMs, gapMs),
    );
    section.append(charts);
    container.append(section);
  }
  if (history.nodes.length === 0) container.append(element('p', 'No samples yet: only nodes that answer clients (the gateways) have request counters.', 'hint'));
  $('traffic-summary').textContent = `sampled every ${Math.round(history.intervalMs / 100) / 10} s; updated ${new Date().toLocaleTimeString()}`;
}

function refreshTraffic() {
  loadTraffic().catch((error) => showProblem(error.message));
}

// --- Pages ---------------------------------------------------------------------------------

const PAGES = ['cluster', 'accounts', 'queues', 'traffic'];

function route() {
  const wanted = window.location.hash.slice(1);
  const page = PAGES.includes(wanted) ? wanted : 'cluster';
  for (const name of PAGES) {
    $(`page-${name}`).hidden = page !== name;
    $(`nav-${name}`).classList.toggle('current', page === name);
  }
  showProblem();
  showNotice();
  if (queuesTimer !== null) window.clearInterval(queuesTimer);
  queuesTimer = null;
  if (trafficTimer !== null) window.clearInterval(trafficTimer);
  trafficTimer = null;
  if (page === 'cluster') {
    recoveryRunning = true;
    follow();
    return;
  }
  unfollow();
  if (page === 'accounts') loadAccounts().catch((error) => showProblem(error.message));
  else if (page === 'traffic') {
    refreshTraffic();
    trafficTimer = window.setInterval(refreshTraffic, TRAFFIC_REFRESH_MS);
  } else {
    refreshQueues();
    queuesTimer = window.setInterval(refreshQueues, QUEUES_REFRESH_MS);
  }
}

$('logout').addEventListener('click', async () => {
  unfollow();
  try {
    await post('/logout', {});
  } finally {
    toLogin();
  }
});

// A move to another page is the operator at work: /api/session counts as a use of the session, the
// pages' own refreshes do not.
window.addEventListener('hashchange', () => {
  getJson('/api/session').catch(() => {});
  route();
});

session = await getJson('/api/session');
$('who').textContent = session.userId;
route();
