import type { Agent } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A KubeConfig whose API calls share one keep-alive agent. client-node 1.4 builds a new https.Agent for every
 * request, so every call paid a TLS handshake with client-certificate authentication on both ends and left native
 * TLS state behind for the garbage collector; in `npm run bench` that was most of the operator's CPU per resource
 * and a large part of its memory.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return shareAgent(kubeConfig);
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;

export function shareAgent(kubeConfig: KubeConfig): KubeConfig {
  // createAgent is private in the typings but an ordinary method at run time; it is the one place agents are made.
  const target = kubeConfig as unknown as { createAgent: AgentFactory };
  const create = target.createAgent.bind(kubeConfig);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, options) => {
    // The options carry the cluster's CA and the client certificate: one agent per distinct set of them.
    const key = JSON.stringify([cluster, options]);
    let agent = agents.get(key);
    if (!agent) {
      agent = create(cluster, { ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  return kubeConfig;
}
