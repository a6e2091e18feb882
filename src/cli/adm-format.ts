/**
 * How `leofs-adm` prints answers for people: aligned tables and key/value blocks in the manner of
 * LeoFS's leofs-adm. (`--json` prints the answer itself.)
 */
import type { AdminResult, NodeDetails, WhereisRow } from '../protocol/cluster/admin.js';
import type { Alarm } from '../core/watchdog-rules.js';
import type { MemberStatus } from '../protocol/cluster/ring-keeper.js';
import type { ManagerStatus } from '../protocol/cluster/consensus.js';
import type { LinkStatus } from '../protocol/cluster/link-keeper.js';
import { assertNever } from '../core/assert-never.js';

/** Columns padded to their widest cell, separated by ` | `, with a rule under the header. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => ' ' + widths.map((width, column) => (cells[column] ?? '').padEnd(width)).join(' | ').trimEnd();
  const rule = widths.map((width) => '-'.repeat(width + 2)).join('+');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** A block of `label value` lines under a title in brackets. */
export function formatFields(title: string, fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return [`[${title}]`, ...fields.map(([label, value]) => ` ${label.padEnd(width)}  ${value}`)].join('\n');
}

export function hexChecksum(checksum: number): string {
  return (checksum >>> 0).toString(16).padStart(8, '0');
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(1)} ${units[unit]} (${count} B)`;
}

function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const parts = [[Math.floor(seconds / 86400), 'd'], [Math.floor(seconds / 3600) % 24, 'h'], [Math.floor(seconds / 60) % 60, 'm'], [seconds % 60, 's']] as const;
  const shown = parts.filter(([value], index) => value > 0 || index === parts.length - 1);
  return shown.map(([value, unit]) => `${value}${unit}`).join(' ');
}

function rate_(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e6).toFixed(1)} MB/s`;
}

function formatAlarms(rows: ReadonlyArray<{ readonly node: string; readonly alarm: Alarm }>): string {
  return formatTable(['node', 'alarm', 'level', 'since', 'detail'], rows.map(({ node, alarm }) => [node, alarm.name, alarm.level, time(alarm.sinceMs), alarm.message]));
}

/** A node's readings against its thresholds, and its alarms. */
function formatWatchdog(node: string, watchdog: NodeDetails['watchdog']): string {
  if (!watchdog) return '[Watchdog]\n no answer';
  const { readings, thresholds } = watchdog;
  const mib = (value: number): string => `${(value / 1024 / 1024).toFixed(0)} MiB`;
  const fields: Array<readonly [string, string]> = readings
    ? [
        [
          'cpu',
          readings.clientRequests === undefined
            ? `${readings.cpuPercent.toFixed(0)}% of a core (throttle above ${thresholds.cpuThrottlePercent}%)`
            : `${readings.cpuPercent.toFixed(0)}% of a core, ${readings.clientRequests} client requests in the last two samples (throttle above ${thresholds.cpuThrottlePercent}% while clients are served)`,
        ],
        ['memory', `${mib(readings.rssBytes)} resident (throttle above ${mib(thresholds.memoryThrottleBytes)}, refuse writes above ${mib(thresholds.memoryRefuseBytes)})`],
        ['event loop', `${readings.eventLoopDelayMs.toFixed(0)} ms p99 delay (throttle above ${thresholds.eventLoopThrottleMs} ms, refuse writes above ${thresholds.eventLoopRefuseMs} ms)`],
        ...(readings.diskFreeBytes !== undefined
          ? [['disk free', `${mib(readings.diskFreeBytes)} of ${mib(readings.diskTotalBytes ?? 0)} (throttle below ${thresholds.diskThrottleFreePercent}%, read-only below ${mib(thresholds.diskReadOnlyFreeBytes)})`] as const]
          : []),
        ...(readings.queueItems !== undefined ? [['queued', `${readings.queueItems} items (alarm above ${thresholds.queueAlarmItems})`] as const] : []),
        ['errors', `${readings.errorsPerMinute.toFixed(0)} a minute (throttle above ${thresholds.errorsThrottlePerMinute})`],
      ]
    : [['readings', 'none yet']];
  const alarms = watchdog.alarms.length > 0 ? `\n${formatAlarms(watchdog.alarms.map((alarm) => ({ node, alarm })))}` : '\n no alarms';
  return `${formatFields('Watchdog', fields)}${alarms}`;
}

/** One line per receiving node, with a bar of the share of its segments done. */
export function formatRebalanceStatus(result: Extract<AdminResult, { kind: 'rebalance_status' }>): string {
  if (!result.running) return `no rebalance is running (ring epoch ${result.epoch}, checksum ${hexChecksum(result.checksum)})`;
  const header = `rebalance from ring ${hexChecksum(result.previousChecksum ?? 0)} to ${hexChecksum(result.checksum)}, ${result.rateBytesPerSec === 0 ? 'no rate limit' : `limit ${rate_(result.rateBytesPerSec)} per node`}`;
  const rows = result.receivers.map(({ node, status }) => {
    if (!status) return [node, 'no answer yet', '', '', '', '', ''];
    return [
      node,
      status.state,
      `${progressBar(status.segments === 0 ? 1 : status.segmentsDone / status.segments)} ${status.segmentsDone}/${status.segments}`,
      String(status.objects),
      bytes(status.bytes),
      rate_(status.bytesPerSec),
      status.etaSeconds === null ? '-' : duration(status.etaSeconds * 1000),
    ];
  });
  return `${header}\n${formatTable(['node', 'state', 'segments', 'objects moved', 'bytes moved', 'rate', 'eta'], rows)}`;
}

/** One line per storage node with a recovery: a bar of its ranges compared, keys repaired, rate and ETA. */
export function formatRecoveryStatus(result: Extract<AdminResult, { kind: 'recovery_status' }>): string {
  const rows = result.nodes.flatMap(({ node, recovery }) => {
    if (!recovery) return [];
    const seconds = recovery.elapsedMs / 1000;
    const perSecond = seconds > 0 ? (recovery.rangesDone + recovery.rangesSkipped) / seconds : 0;
    const left = recovery.ranges - recovery.rangesDone - recovery.rangesSkipped;
    const eta = recovery.finished ? 'done' : perSecond > 0 ? duration((left / perSecond) * 1000) : '-';
    const handled = recovery.rangesDone + recovery.rangesSkipped;
    const skipped = recovery.rangesSkipped > 0 ? ` (${recovery.rangesSkipped} skipped: no other holder reached)` : '';
    return [[
      node,
      recovery.kind === 'node' ? `refill ${recovery.peers.join(', ')}` : 'full pass',
      `${progressBar(recovery.ranges === 0 ? 1 : handled / recovery.ranges)} ${recovery.rangesDone}/${recovery.ranges}${skipped}`,
      String(recovery.keysSynced),
      `${perSecond.toFixed(1)} ranges/s`,
      duration(recovery.elapsedMs),
      eta,
    ]];
  });
  const unreachable = result.unreachable.length > 0 ? `\nno answer from: ${result.unreachable.join(', ')}` : '';
  if (rows.length === 0) return `no recovery has been asked of any storage node since it started${unreachable}`;
  return `${formatTable(['node', 'recovery', 'ranges compared', 'keys repaired', 'rate', 'elapsed', 'eta'], rows)}${unreachable}`;
}

/** Whether any storage node still works on a recovery. */
export function recoveryRunning(result: Extract<AdminResult, { kind: 'recovery_status' }>): boolean {
  return result.nodes.some(({ recovery }) => recovery !== null && !recovery.finished);
}

export function progressBar(share: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(share * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

const ROLE_LETTER: Record<string, string> = { manager: 'M', storage: 'S', gateway: 'G' };

function memberRow(member: MemberStatus): string[] {
  return [
    ROLE_LETTER[member.role] ?? member.role,
    member.node,
    member.state,
    member.address ?? '-',
    member.ring && member.ring.epoch > 0 ? String(member.ring.epoch) : '-',
    member.ring && member.ring.epoch > 0 ? hexChecksum(member.ring.checksum) : '-',
    member.storage ? String(member.storage.numOfVnodes) : '',
    member.storage?.rack ?? '',
  ];
}

function whereisRow(row: WhereisRow): string[] {
  const base = [row.node, row.ring, row.state];
  const answer = row.answer;
  if (!answer.ok) return ['', ...base, '', '', '', answer.error];
  if (!answer.exists) return ['', ...base, '', '', '', 'not found'];
  return [answer.tombstone ? '*' : '', ...base, String(answer.sizeBytes), answer.etag, answer.clock, time(answer.lastModifiedMs)];
}

export function formatResult(result: AdminResult): string {
  switch (result.kind) {
    case 'cluster_status': {
      const settings = result.settings;
      const config: Array<readonly [string, string]> = settings
        ? [
            ['replicas (N)', String(settings.n)],
            ['write quorum (W)', String(settings.w)],
            ['read quorum (R)', String(settings.r)],
            ['delete quorum (D)', String(settings.d)],
            ['rack-aware', settings.rackAware ? 'yes' : 'no'],
            ['ring epoch', String(result.epoch)],
            ['ring checksum', hexChecksum(result.checksum)],
            ['previous ring', result.previousChecksum === null ? '-' : hexChecksum(result.previousChecksum)],
            ['rings consistent', result.consistent ? 'yes' : 'no (a member has not reported the current ring yet)'],
          ]
        : [['cluster', 'not started (attach storage nodes, then run: leofs-adm start --replicas N ...)']];
      const members = formatTable(['type', 'node', 'state', 'address', 'ring epoch', 'ring checksum', 'vnodes', 'rack'], result.members.map(memberRow));
      const rebalance = result.rebalance ? `\n\n[Rebalance]\n${formatRebalanceStatus({ kind: 'rebalance_status', ...result.rebalance })}` : '';
      const alarms = result.alarms.length > 0 ? `\n\n[Alarms]\n${formatAlarms(result.alarms.flatMap(({ node, alarms: raised }) => raised.map((alarm) => ({ node, alarm }))))}` : '';
      const managers = result.managers.length > 0 ? `\n\n[Managers]\n${formatManagers(result.managers)}` : '';
      return `${formatFields('System Configuration', config)}\n\n[Node State]\n${members}${managers}${rebalance}${alarms}`;
    }
    case 'node_status': {
      const fields: Array<readonly [string, string]> = [
        ['node', result.node],
        ['role', result.role],
        ['state', result.state],
        ['address', result.address ?? '-'],
        ['started', time(result.startedAtMs)],
        ['uptime', duration(result.uptimeMs)],
        ['ring epoch', result.ring ? String(result.ring.epoch) : '-'],
        ['ring checksum', result.ring ? hexChecksum(result.ring.checksum) : '-'],
        ['release', result.version ?? '-'],
      ];
      const peers = formatTable(['peer', 'state', 'address', 'links', 'buffered bytes'], result.peers.map((peer) => [peer.node, peer.state, peer.address ?? '-', String(peer.links), String(peer.bufferedBytes)]));
      return `${formatFields('Node', fields)}\n\n${formatWatchdog(result.node, result.watchdog)}\n\n[Peers]\n${peers}`;
    }
    case 'versions':
      return formatTable(['node', 'role', 'release'], result.nodes.map((node) => [node.node, node.role, node.version ?? 'no answer']));
    case 'cache_purged': {
      if (result.gateways.length === 0) return `no running gateway holds a cache of ${result.bucket}/${result.key}`;
      return formatTable(['gateway', `${result.bucket}/${result.key}`], result.gateways.map((gateway) => [gateway.node, gateway.purged ? 'purged' : 'no answer']));
    }
    case 'started':
      return `OK: cluster started (ring epoch ${result.epoch}, checksum ${hexChecksum(result.checksum)}; members: ${result.members.join(', ')})`;
    case 'whereis': {
      const header = `${result.bucket}/${result.key} at ring position ${result.position}`;
      return `${header}\n${formatTable(['del?', 'node', 'ring', 'state', 'size', 'etag', 'clock', 'when'], result.replicas.map(whereisRow))}`;
    }
    case 'user':
      return `user-id: ${result.user.userId}\nrole: ${result.user.role}\naccess-key-id: ${result.user.accessKeyId}\nsecret-access-key: ${result.user.secretAccessKey}`;
    case 'access_key':
      return `user-id: ${result.userId}\naccess-key-id: ${result.key.accessKeyId}\nsecret-access-key: ${result.key.secretAccessKey}`;
    case 'access_keys':
      return formatTable(['user_id', 'access_key_id', 'created_at'], result.keys.map((key) => [result.userId, key.accessKeyId, time(key.createdAtMs)]));
    case 'credentials':
      return `OK: the secret is ${result.user.userId}'s (${result.user.role})`;
    case 'users':
      return formatTable(['user_id', 'role', 'access_key_id', 'created_at'], result.users.map((user) => [user.userId, user.role, user.accessKeyId, time(user.createdAtMs)]));
    case 'bucket':
    case 'buckets': {
      const buckets = result.kind === 'bucket' ? [result.bucket] : result.buckets;
      return formatTable(
        ['bucket', 'owner', 'permissions', 'location', 'versioning', 'object lock', 'lifecycle rules', 'created_at'],
        buckets.map((b) => [
          b.name, b.owner, b.acl, b.location ?? '', b.versioning ?? '-', b.objectLock === undefined ? '-' : 'enabled',
          b.lifecycle === undefined ? '-' : String(b.lifecycle.rules.length), time(b.createdAtMs),
        ]),
      );
    }
    case 'bucket_stats':
      return formatBucketStats(result);
    case 'endpoints':
      return formatTable(['endpoint', 'created_at'], result.endpoints.map((endpoint) => [endpoint.host, time(endpoint.createdAtMs)]));
    case 'delete_bucket_stats': {
      if (result.buckets.length === 0) return 'no deleted bucket';
      return result.buckets
        .map((bucket) => {
          const title = `- Bucket: ${bucket.name} (deleted ${time(bucket.deletedAtMs)}${bucket.withContent ? ' with its content' : ''})`;
          const rows = bucket.nodes.map((node) => [
            node.node,
            node.state,
            node.removedKeys === undefined ? '' : String(node.removedKeys),
            node.removedBytes === undefined ? '' : String(node.removedBytes),
            node.finishedAtMs === undefined ? '' : time(node.finishedAtMs),
          ]);
          return `${title}\n${formatTable(['node', 'state', 'records removed', 'bytes removed', 'finished'], rows)}`;
        })
        .join('\n\n');
    }
    case 'lifecycle_status': {
      const rows = result.nodes.flatMap(({ node, buckets }) =>
        buckets.map((progress) => {
          const counts = progress.running ?? progress.lastRun;
          return [
            node,
            progress.bucket,
            progress.running ? `running since ${time(progress.runningSinceMs!)}` : 'idle',
            progress.lastRun ? time(progress.lastRun.finishedAtMs) : '-',
            counts ? String(counts.scanned) : '',
            counts ? String(counts.expired) : '',
            counts ? String(counts.versionsRemoved + counts.markersRemoved) : '',
            counts ? String(counts.uploadsAborted) : '',
            counts ? String(counts.locked) : '',
            counts ? String(counts.failed) : '',
          ];
        }),
      );
      const table = rows.length === 0
        ? 'no lifecycle pass yet (no bucket has enabled rules, or the first pass has not begun)'
        : formatTable(['node', 'bucket', 'state', 'last run finished', 'keys judged', 'expired', 'versions removed', 'uploads aborted', 'locked', 'failed'], rows);
      return result.unreachable.length === 0 ? table : `${table}\nnot answering: ${result.unreachable.join(', ')}`;
    }
    case 'lifecycle_explain': {
      const header = `${result.bucket}/${result.key}, judged by ${result.node} at ${time(result.nowMs)}`;
      const verdict = result.actions.length === 0 ? 'nothing to do now' : `to do: ${result.actions.map((action) => (action.type === 'expire-current' ? `expire the current version (rule ${action.rule})` : `remove version ${action.versionId} (rule ${action.rule})`)).join('; ')}`;
      return [header, ...result.explanation.map((line) => `- ${line}`), verdict].join('\n');
    }
    case 'compaction': {
      const fields: Array<readonly [string, string]> = [
        ['node', result.node],
        ['current status', result.state],
        ['started by', result.trigger === undefined ? '-' : result.trigger],
        ['last compaction start', result.lastStartedAtMs === undefined ? '-' : time(result.lastStartedAtMs)],
        ['last compaction end', result.lastFinishedAtMs === undefined ? '-' : time(result.lastFinishedAtMs)],
      ];
      if (result.last) {
        fields.push(['LMDB file before', bytes(result.last.beforeBytes)], ['LMDB file after', bytes(result.last.afterBytes)], ['writes held', `${result.last.pausedMs} ms of ${result.last.tookMs} ms`]);
        if (result.last.keptCopyBytes !== undefined) fields.push(['outcome', `the copy came out at ${bytes(result.last.keptCopyBytes)}, too little smaller: the file was kept`]);
      }
      if (result.lastError) fields.push(['last error', result.lastError]);
      if (result.lastOutlook) {
        const { atMs, fileBytes, compactedBytes } = result.lastOutlook;
        fields.push(['last automatic look', `${time(atMs)}: LMDB file ${bytes(fileBytes)}, about ${bytes(compactedBytes)} once compacted`]);
      }
      return formatFields('Compaction', fields);
    }
    case 'disk_usage':
      return formatFields(`Disk usage of ${result.node}`, [
        ['active number of objects', String(result.objects)],
        ['total number of records', `${result.records} (objects, chunks, uploads and parts, ${result.tombstones} of them deleted)`],
        ['active size of objects', bytes(result.activeBytes)],
        ['body files', bytes(result.bodyFileBytes)],
        ['LMDB file', `${bytes(result.lmdbFileBytes)} (${bytes(result.lmdbUsedBytes)} up to its last page in use)`],
        ['total size on disk', bytes(result.totalBytes)],
        ['ratio of active size', result.totalBytes === 0 ? '-' : `${((100 * result.activeBytes) / result.totalBytes).toFixed(1)}%`],
      ]);
    case 'ring':
      return JSON.stringify({ node: result.node, checksum: result.checksum, ring: result.doc }, null, 2);
    case 'done':
      return `OK: ${result.message}`;
    case 'rebalance': {
      const rate = result.rateBytesPerSec === 0 ? 'no limit' : `${rate_(result.rateBytesPerSec)} per receiving node`;
      if (!result.started) return `OK: the running rebalance now moves at ${rate}`;
      const changes = [...result.joined.map((node) => `+${node}`), ...result.left.map((node) => `-${node}`)].join(', ');
      return `OK: rebalance started (ring epoch ${result.epoch}, checksum ${hexChecksum(result.checksum)}; ${changes}); ${result.segments} segments move to ${result.receivers.join(', ')} at ${rate}. Follow it with: leofs-adm rebalance-status`;
    }
    case 'rebalance_status':
      return formatRebalanceStatus(result);
    case 'actors':
      return formatTable(
        ['actor', 'status', 'incarnation', 'mailbox', 'crashes', 'last crash'],
        [...result.actors]
          .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
          .map((actor) => [
            actor.path, actor.status, String(actor.incarnation), String(actor.mailbox), String(actor.crashes),
            actor.lastCrash ? `${Math.max(0, Math.round((result.atMs - actor.lastCrash.atMs) / 1000))}s ago: ${actor.lastCrash.reason.replace(/\s*\n\s*/g, ' ')}` : '',
          ]),
      );
    case 'queues': {
      const queues = formatTable(['queue', 'state', 'items'], result.queues.map((queue) => [queue.name, queue.state, String(queue.size)]));
      const ae = result.antiEntropy;
      const antiEntropy = ae
        ? formatFields('Anti-entropy', [
            ['ranges held', String(ae.rangesHeld)],
            ['comparisons queued', `${ae.urgentPending}${ae.urgentPending > 0 ? ` ${progressBar(ae.rangesHeld === 0 ? 1 : Math.max(0, 1 - ae.urgentPending / Math.max(ae.rangesHeld, ae.urgentPending)))}` : ''}`],
            ['pace', ae.quiet ? 'quiet (every range was in step for a whole walk)' : 'sweeping'],
            ['rounds done', String(ae.roundsDone)],
            ['keys repaired', String(ae.keysSynced)],
          ])
        : '[Anti-entropy]\n no answer';
      const h = result.handoff;
      const handoff = h
        ? formatFields('Rebalance hand-off', [
            ['state', h.state],
            ['segments', `${h.segmentsDone}/${h.segments}`],
            ['moved', `${h.objects} objects, ${bytes(h.bytes)}`],
            ['rate', `${rate_(h.bytesPerSec)}${h.rateLimitBytesPerSec > 0 ? ` (limit ${rate_(h.rateLimitBytesPerSec)})` : ''}`],
            ['data moved away, not yet dropped', h.releasePending ? 'yes' : 'no'],
          ])
        : '[Rebalance hand-off]\n no answer';
      return `[Queues of ${result.node}]\n${queues}\n\n${antiEntropy}\n\n${handoff}`;
    }
    case 'recover_file': {
      const rows = result.items.map((item) => [item.kind, item.key.replace(/\n/g, '\\n'), item.newestOn ?? 'none', item.repairing.join(', ') || '-', item.unreachable.join(', ') || '-']);
      return `${result.bucket}/${result.key}\n${formatTable(['kind', 'ring key', 'newest on', 'repairing', 'no answer'], rows)}`;
    }
    case 'recovery_status':
      return formatRecoveryStatus(result);
    case 'manager_backup':
      return `a snapshot of ${result.backup.records} records at log index ${result.backup.index} (cluster ${result.backup.id.clusterId}), in ${result.backup.pages} page(s)`;
    case 'link_joined':
      return formatLinkJoined(result.link);
    case 'linked_clusters':
      return formatLinkedClusters(result);
    case 'metrics_history':
      return formatMetricsHistory(result);
    default:
      return assertNever(result);
  }
}

type MetricsHistory = Extract<AdminResult, { kind: 'metrics_history' }>;

/**
 * One line per node: its latest point and the hour's average; with one node, also a line per minute
 * (the samples of that minute taken together), so an hour fits on a screen.
 */
export function formatMetricsHistory(result: MetricsHistory): string {
  if (result.nodes.length === 0) return `no samples yet (the managers sample every ${result.intervalMs / 1000} s; only nodes that answer clients, the gateways, have request counters)`;
  const number = (value: number | null, digits = 1): string => (value === null ? '-' : value.toFixed(digits));
  const summary = formatTable(
    ['node', 'role', 'points', 'req/s now', 'req/s hour', 'p50 ms', 'p99 ms', 'in B/s', 'out B/s'],
    result.nodes.map(({ node, role, points }) => {
      const last = points.at(-1);
      const hour = mergePoints(points);
      return [node, role, String(points.length), number(last?.requestsPerSecond ?? null), number(hour?.requestsPerSecond ?? null), number(last?.p50Ms ?? null), number(last?.p99Ms ?? null), number(last?.receivedBytesPerSecond ?? null, 0), number(last?.sentBytesPerSecond ?? null, 0)];
    }),
  );
  const header = `traffic of the last ${result.windowMs / 60_000} minutes, sampled every ${result.intervalMs / 1000} s`;
  if (result.nodes.length !== 1) return `${header}\n${summary}`;
  const minutes = new Map<number, Array<MetricsHistory['nodes'][number]['points'][number]>>();
  for (const point of result.nodes[0]!.points) {
    const minute = Math.floor(point.atMs / 60_000) * 60_000;
    minutes.set(minute, [...(minutes.get(minute) ?? []), point]);
  }
  const rows = [...minutes].map(([minute, points]) => {
    const merged = mergePoints(points)!;
    return [time(minute).slice(11, 16), number(merged.requestsPerSecond), number(merged.meanMs), number(merged.p99Ms), number(merged.receivedBytesPerSecond, 0), number(merged.sentBytesPerSecond, 0)];
  });
  return `${header}\n${summary}\n\n${formatTable(['minute', 'req/s', 'mean ms', 'max p99 ms', 'in B/s', 'out B/s'], rows)}`;
}

/** Points taken together: rates over their whole span, the mean latency weighted by requests, the highest p99. */
function mergePoints(points: MetricsHistory['nodes'][number]['points']): { requestsPerSecond: number; receivedBytesPerSecond: number; sentBytesPerSecond: number; meanMs: number | null; p99Ms: number | null } | undefined {
  if (points.length === 0) return undefined;
  const spanMs = points.reduce((sum, point) => sum + point.spanMs, 0);
  const total = (rate: (point: (typeof points)[number]) => number): number => points.reduce((sum, point) => sum + rate(point) * point.spanMs, 0) / Math.max(1, spanMs);
  const requests = points.reduce((sum, point) => sum + point.requestsPerSecond * point.spanMs, 0);
  const latencyWeighted = points.reduce((sum, point) => sum + (point.meanMs ?? 0) * point.requestsPerSecond * point.spanMs, 0);
  const p99s = points.flatMap((point) => (point.p99Ms === null ? [] : [point.p99Ms]));
  return {
    requestsPerSecond: total((point) => point.requestsPerSecond),
    receivedBytesPerSecond: total((point) => point.receivedBytesPerSecond),
    sentBytesPerSecond: total((point) => point.sentBytesPerSecond),
    meanMs: requests > 0 ? latencyWeighted / requests : null,
    p99Ms: p99s.length > 0 ? Math.max(...p99s) : null,
  };
}

/** What join-cluster did, and what the other cluster said to the first hello. */
export function formatLinkJoined(link: LinkStatus): string {
  const linked = `OK: linked with cluster ${link.clusterId}${link.buckets ? ` for buckets ${link.buckets.join(', ')}` : ''}`;
  switch (link.state) {
    case 'up':
      return `${linked} and up: ${link.storage.length} storage node(s) take its shipments`;
    case 'waiting':
      return `${linked}; waiting for cluster ${link.clusterId} to join this one (run leofs-adm join-cluster there with this cluster's manager, id and the same secret)\n  ${link.reason ?? ''}`.trimEnd();
    case 'down':
    case 'unknown':
      return `${linked}, but it does not answer yet; asked again every few seconds (leofs-adm cluster-status follows it)${link.reason ? `\n  ${link.reason}` : ''}`;
    default:
      return assertNever(link.state);
  }
}

/** This cluster's id, one line per linked cluster, and why any link is not up. */
export function formatLinkedClusters(result: Extract<AdminResult, { kind: 'linked_clusters' }>): string {
  const self = `this cluster: ${result.clusterId ?? '(no id yet)'}`;
  const unreachable = result.unreachable.length > 0 ? `\nno answer from: ${result.unreachable.join(', ')}` : '';
  if (result.clusters.length === 0) return `${self}\nno cluster is linked with this one (leofs-adm join-cluster links one)${unreachable}`;
  const rows = result.clusters.map((cluster) => [
    cluster.clusterId,
    cluster.buckets ? cluster.buckets.join(',') : 'all',
    cluster.state,
    cluster.lastContactMs === null ? '-' : time(cluster.lastContactMs),
    String(cluster.storageNodes),
    String(cluster.backlog.shippingNodes),
    String(cluster.backlog.queued),
    cluster.backlog.lagSeconds === null ? '-' : duration(cluster.backlog.lagSeconds * 1000),
    String(cluster.backlog.shippedObjects),
    bytes(cluster.backlog.shippedBytes),
    `${cluster.backlog.sync.passes} passes, ${cluster.backlog.sync.compared} keys, ${cluster.backlog.sync.behind} sent again`,
    cluster.backlog.errors.length > 0 ? cluster.backlog.errors[cluster.backlog.errors.length - 1]! : '-',
  ]);
  const table = formatTable(['cluster', 'buckets', 'link', 'last contact', 'storage nodes', 'shipping here', 'queued', 'lag', 'objects shipped', 'bytes shipped', 'compared', 'last error'], rows);
  const reasons = result.clusters.flatMap((cluster) => [
    ...(cluster.reason !== undefined ? [`${cluster.clusterId} ${cluster.state}: ${cluster.reason}`] : []),
    ...cluster.backlog.errors.map((error) => `${cluster.clusterId} shipments from ${error}`),
  ]);
  const problems = reasons.length > 0 ? `\n\n[Problems]\n${reasons.map((reason) => `- ${reason}`).join('\n')}` : '';
  return `${self}\n${table}${problems}${unreachable}`;
}

/** Each manager's part in the replicated log: who leads, how far each log reaches, and how far behind the leader each follower is. */
function formatManagers(managers: readonly ManagerStatus[]): string {
  const known = (value: number): string => (value < 0 ? '-' : String(value));
  return formatTable(
    ['manager', 'role', 'term', 'log index', 'committed', 'applied', 'lag', 'reachable'],
    managers.map((manager) => [
      manager.node,
      manager.role,
      known(manager.term),
      known(manager.lastIndex),
      known(manager.commitIndex),
      known(manager.appliedIndex),
      manager.lag === null ? '-' : String(manager.lag),
      manager.reachable ? 'yes' : 'no',
    ]),
  );
}

/** bucket-stats: one row per bucket, then what the sums may lack. */
function formatBucketStats(result: Extract<AdminResult, { kind: 'bucket_stats' }>): string {
  const rows = result.buckets.map((b) => [b.bucket, b.owner, String(b.objects), shortBytes(b.bytes), b.noncurrentVersions === 0 ? '-' : `${b.noncurrentVersions} (${shortBytes(b.noncurrentBytes)})`]);
  const lines = [result.buckets.length === 0 ? 'no bucket' : formatTable(['bucket', 'owner', 'objects', 'size', 'older versions'], rows)];
  lines.push(`counted at ${time(result.countedAtMs)} by ${result.nodes.length} storage node(s)`);
  if (result.notRunning.length > 0) lines.push(`not running (their keys counted by other replicas): ${result.notRunning.join(', ')}`);
  for (const { node, reason } of result.missing) lines.push(`not counted: ${node} (${reason})`);
  if (result.partial) lines.push('PARTIAL: some keys are not counted; the figures are too low');
  if (result.rebalancing) lines.push('a rebalance is moving data: keys not yet on their new first replica are not counted until they are');
  return lines.join('\n');
}

/** A byte count as people read it: 1.5 GiB, 512 B. */
export function shortBytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(1)} ${units[unit]}`;
}
