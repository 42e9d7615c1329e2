/**
 * What `paxos status` prints. Registered in status-command.ts, which loads
 * this module (and with it the membership service) only when the command runs.
 */
import { ClusterClient } from '../../cluster/client.js';
import { diskFullAt, paxosHome } from '../../cluster/home.js';
import { currentMembership } from '../../cluster/membership-changes.js';
import type { ClusterStatus } from '../../cluster/orchestrator.js';
import { formatBallot } from '../../core/ballot.js';
import { nodeName } from '../../core/types.js';
import { showText } from '../../text/escape.js';
import { describeFaults } from '../format.js';
import { remoteStatus } from '../remote.js';

/** `paxos status`: the table, or with --json the status as one line. */
export async function runStatus(json: boolean): Promise<void> {
  const cluster = await ClusterClient.connect();
  try {
    const status = await cluster.status();
    const diskFull = status.replicas.some((r) => !r.up) && diskFullAt(paxosHome()) ? paxosHome() : null;
    const data = {
      ...status,
      ...(status.protocol === 'multi' ? { membership: membershipSummary(status) } : {}),
      ...(diskFull !== null ? { diskFull: true } : {}),
    };
    process.stdout.write(
      json
        ? `${JSON.stringify(data)}\n`
        : `${renderStatus(status)}${diskFull !== null ? `\n${diskFullLine(diskFull)}` : ''}\n`,
    );
  } finally {
    cluster.close();
  }
}

/**
 * Why replicas are down when the disk is full: a replica stops rather than
 * acknowledge what it could not make durable, and the sentence it said went
 * nowhere (its log is on the same full disk), so status says it instead.
 */
function diskFullLine(home: string): string {
  return `the disk holding ${home} is full: a replica that cannot write its log stops rather than lose what it promised; free some space there, then \`paxos restart --all\``;
}

/** The status table as `paxos status` prints it; `--json` bypasses it and keeps keys and values raw. */
export function renderStatus(s: ClusterStatus): string {
  const f = s.faults;
  const head = `${s.replicas.length} replicas, ${s.protocol} paxos, orchestrator pid ${s.orchestratorPid}; network: ${describeFaults({ partition: f.partition ?? null, delayMs: f.delayMs ?? null, dropRate: f.dropRate ?? 0 })}${s.step === true ? '; step mode: messages held, time moves on paxos tick' : ''}`;
  // Membership change is Multi-Paxos only: a Basic Paxos cluster's acceptors are fixed, so it shows neither the line nor the column.
  const multi = s.protocol === 'multi';
  const rows = [
    [
      'NODE',
      'STATE',
      ...(multi ? ['MEMBER'] : []),
      'ROLE',
      'PROMISED',
      'LAST ACCEPTED',
      'CHOSEN',
      'MSGS IN/OUT',
      'PID',
      'PORT',
    ],
  ];
  for (const r of s.replicas) {
    const v = r.status?.view;
    // The instance (a key in basic mode) and the value are user text: escaped first, so the cut is on what is shown.
    const acc = v?.lastAccepted
      ? `${/^\d+$/.test(v.lastAccepted.instance) ? '#' : ''}${showText(v.lastAccepted.instance)} (${formatBallot(v.lastAccepted.ballot)}, ${truncate(showText(v.lastAccepted.value), 16)})`
      : '-';
    rows.push([
      nodeName(r.id),
      stateOf(r),
      ...(multi ? [memberOf(s, r.id)] : []),
      v?.role ?? '-',
      v ? formatBallot(v.promised) : '-',
      acc,
      v ? String(v.chosenCount) : '-',
      r.status ? `${r.status.messagesIn}/${r.status.messagesOut}` : '-',
      r.pid === null ? '-' : String(r.pid),
      String(r.port),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [
    head,
    ...(multi ? [describeMembership(membershipSummary(s))] : []),
    ...rows.map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}

export interface MembershipSummary {
  readonly epoch: number;
  readonly voters: readonly number[];
  /** The first slot the current configuration governs. */
  readonly startSlot: number;
  readonly learners: readonly number[];
  readonly removed: readonly number[];
  /** The configurations before it that the replicas remember, oldest first, each with the slots it governed. */
  readonly earlier: readonly {
    readonly epoch: number;
    readonly voters: readonly number[];
    readonly fromSlot: number;
    readonly toSlot: number;
  }[];
}

/**
 * The configuration as the replicas have applied it (the newest epoch any
 * running replica reports), with the learners and removed replicas the
 * manifest records.
 */
export function membershipSummary(s: ClusterStatus): MembershipSummary {
  const m = currentMembership(
    s.replicas.map((r) => r.status),
    s.clusterSize,
  );
  const members = s.members ?? [];
  return {
    epoch: m.epoch,
    voters: m.voters,
    startSlot: m.startSlot,
    learners: members.filter((x) => x.state === 'learner' && !m.voters.includes(x.id)).map((x) => x.id),
    removed: members.filter((x) => x.state === 'removed').map((x) => x.id),
    earlier: earlierSpans(m.previous ?? [], m.startSlot),
  };
}

/** Each earlier configuration governed the slots up to the next one's start. */
function earlierSpans(
  previous: readonly { epoch: number; voters: readonly number[]; startSlot: number }[],
  currentStart: number,
): MembershipSummary['earlier'] {
  return previous.map((p, i) => ({
    epoch: p.epoch,
    voters: p.voters,
    fromSlot: p.startSlot,
    toSlot: (previous[i + 1]?.startSlot ?? currentStart) - 1,
  }));
}

export function describeMembership(m: MembershipSummary): string {
  const names = (ids: readonly number[]) => ids.map((id) => nodeName(id)).join(', ');
  const head = [
    `membership: epoch ${m.epoch}, voters ${names(m.voters)} (governing from slot ${m.startSlot})`,
    ...(m.learners.length > 0 ? [`learners ${names(m.learners)}`] : []),
    ...(m.removed.length > 0 ? [`removed ${names(m.removed)}`] : []),
  ].join('; ');
  const earlier = m.earlier.map(
    (e) => `  epoch ${e.epoch}: ${names(e.voters)} governed slots ${e.fromSlot}–${e.toSlot}`,
  );
  return [head, ...earlier].join('\n');
}

/** What the replica says it is; the manifest's record when it does not say (a core before membership change, or a replica down). */
function memberOf(s: ClusterStatus, id: number): string {
  const r = s.replicas.find((x) => x.id === id);
  return r?.status?.view.member ?? s.members?.find((x) => x.id === id)?.state ?? 'voter';
}

/** Paused comes first: a frozen replica answers nobody, whatever side of a partition it is on. */
function stateOf(r: ClusterStatus['replicas'][number]): string {
  if (!r.up) return 'down';
  if (r.paused === true) return 'paused';
  return r.isolated ? 'isolated' : 'up';
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** `paxos status --cluster FILE`: one line per member, as it answers for itself. */
/** `paxos status --cluster FILE`: each member of a cluster on other hosts asked directly, no orchestrator. */
export async function printRemoteStatus(file: string, json: boolean): Promise<void> {
  const s = await remoteStatus(file);
  if (json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const lines = s.replicas.map((r) => {
    if (!r.up) return `${nodeName(r.id)}  ${r.address}  down (${r.error ?? 'no answer'})`;
    const st = r.status as
      | {
          view?: {
            role?: string;
            leader?: number | null;
            promised?: { round: number; node: number };
            chosenCount?: number;
          };
          messagesIn?: number;
          messagesOut?: number;
        }
      | undefined;
    const v = st?.view;
    return `${nodeName(r.id)}  ${r.address}  up  ${v?.role ?? '-'}  leader ${v?.leader != null ? nodeName(v.leader) : '-'}  promised ${v?.promised ? formatBallot(v.promised) : '-'}  chosen ${v?.chosenCount ?? '-'}  msgs ${st?.messagesIn ?? '-'}/${st?.messagesOut ?? '-'}`;
  });
  process.stdout.write(
    `cluster ${s.clusterId}, ${s.replicas.filter((r) => r.up).length} of ${s.replicas.length} members answering\n${lines.join('\n')}\n`,
  );
}
