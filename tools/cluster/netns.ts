// The network namespace of one cluster run, linked to the host by a veth pair. Everything of the cluster lives
// inside it, so the host's routes, iptables and sysctls stay untouched, every rule dies with the namespace, and two
// runs cannot collide on ports. Each run takes its own 172.30.N.0/24, the first N no address or route uses yet.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface NetworkNamespace {
  name: string;
  /** /run/netns/<name>, for `nsenter --net=`. */
  path: string;
  /** The veth end on the host. */
  hostLink: string;
  hostAddress: string;
  /** The node's address: components bind and advertise it, and the host reaches them at it. */
  insideAddress: string;
}

const PREFIX = 'gatehouse-';
const SUBNETS = 256;

function ip(args: readonly string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/** Runs a short command inside the namespace: its network only, like every component (see nsenterArgs). */
export function inNamespace(ns: Pick<NetworkNamespace, 'path'>, command: string, args: readonly string[]): string {
  return execFileSync('nsenter', nsenterArgs(ns, command, args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * `nsenter --net=…` and not `ip netns exec`: the latter also remounts /sys for the namespace, which hides the cgroup
 * mounts from runc ("no cgroup mount found in mountinfo").
 */
export function nsenterArgs(ns: Pick<NetworkNamespace, 'path'>, command: string, args: readonly string[]): string[] {
  return [`--net=${ns.path}`, '--', command, ...args];
}

function subnetsInUse(): Set<number> {
  const used = new Set<number>();
  const text = ip(['-4', '-o', 'addr', 'show']) + ip(['-4', 'route', 'show', 'table', 'all']);
  for (const match of text.matchAll(/\b172\.30\.(\d{1,3})\./g)) used.add(Number(match[1]));
  return used;
}

function setSysctl(ns: NetworkNamespace, key: string, value: string): void {
  inNamespace(ns, 'sh', ['-c', 'echo "$2" > "/proc/sys/$1"', 'sh', key.replaceAll('.', '/'), value]);
}

function configure(ns: NetworkNamespace): void {
  const inside = ['-n', ns.name];
  ip(['link', 'add', ns.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  ip(['addr', 'add', `${ns.hostAddress}/24`, 'dev', ns.hostLink]);
  ip(['link', 'set', ns.hostLink, 'up']);
  ip([...inside, 'link', 'set', 'lo', 'up']);
  ip([...inside, 'addr', 'add', `${ns.insideAddress}/24`, 'dev', 'eth0']);
  ip([...inside, 'link', 'set', 'eth0', 'up']);
  // Components resolve the node's own addresses; a default route also gives Service IPs a route from the node.
  ip([...inside, 'route', 'add', 'default', 'via', ns.hostAddress]);
  setSysctl(ns, 'net.ipv4.ip_forward', '1');
  // Replies of a pod reached through a Service IP cross the bridge without routing; br_netfilter lets conntrack
  // see them and undo kube-proxy's DNAT.
  setSysctl(ns, 'net.bridge.bridge-nf-call-iptables', '1');
}

/** Creates a namespace with the first free subnet; `ip netns add` failing for a taken name makes this race-free. */
export function createNetworkNamespace(): NetworkNamespace {
  const used = subnetsInUse();
  for (let index = 0; index < SUBNETS; index++) {
    if (used.has(index)) continue;
    const name = `${PREFIX}${index}`;
    if (existsSync(`/run/netns/${name}`)) continue;
    if (spawnSync('ip', ['netns', 'add', name], { stdio: 'ignore' }).status !== 0) continue;
    const ns: NetworkNamespace = {
      name,
      path: `/run/netns/${name}`,
      hostLink: `gh${index}`,
      hostAddress: `172.30.${index}.254`,
      insideAddress: `172.30.${index}.1`,
    };
    try {
      configure(ns);
      return ns;
    } catch (error) {
      deleteNetworkNamespace(ns.name);
      throw error;
    }
  }
  throw new Error('no free 172.30.N.0/24 subnet for a cluster network namespace (256 in use)');
}

/** Deleting the namespace also deletes the veth pair and every iptables rule inside; absent is fine. */
export function deleteNetworkNamespace(name: string): void {
  if (existsSync(`/run/netns/${name}`)) spawnSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
}
