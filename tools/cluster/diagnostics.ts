// Short descriptions of cluster state for the messages of waits that timed out: what a person would otherwise look
// up with `kubectl describe` after the cluster is gone.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function describeNode(kubeConfig: KubeConfig, name: string): Promise<string> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const node = await api.readNode({ name }).catch(() => undefined);
  if (!node) return `node ${name} is not registered`;
  const conditions = (node.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`);
  return `node ${name}: ${conditions.join('; ') || 'no conditions yet'}`;
}

export async function describePods(kubeConfig: KubeConfig, namespace: string): Promise<string> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const pods = await api.listNamespacedPod({ namespace });
  const lines = pods.items.map((pod) => {
    const containers = (pod.status?.containerStatuses ?? []).map((status) => {
      const state = status.state?.waiting ?? status.state?.terminated;
      const detail = state ? `${state.reason ?? ''}${state.message ? `: ${state.message}` : ''}` : status.state?.running ? 'running' : '?';
      return `${status.name} ready=${status.ready} ${detail}`;
    });
    return `pod ${namespace}/${pod.metadata?.name}: ${pod.status?.phase ?? '?'} on ${pod.spec?.nodeName ?? '(unscheduled)'}; ${containers.join(', ')}`;
  });
  const events = await api.listNamespacedEvent({ namespace });
  const recent = events.items
    .filter((event) => event.type !== 'Normal')
    .slice(-10)
    .map((event) => `event ${event.involvedObject.kind}/${event.involvedObject.name}: ${event.reason} ${event.message ?? ''}`.trim());
  return [...(lines.length > 0 ? lines : [`no pods in ${namespace}`]), ...recent].join('\n');
}
