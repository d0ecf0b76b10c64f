import { GatehouseClient } from '../sdk/client.js';

export const connectionOptions = {
  endpoint: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
} as const;

export function connect(values: { endpoint?: string; 'client-id'?: string; 'client-secret'?: string }, env = process.env): GatehouseClient {
  const clientId = values['client-id'] ?? env.GATEHOUSE_CLIENT_ID;
  const clientSecret = values['client-secret'] ?? env.GATEHOUSE_CLIENT_SECRET;
  return new GatehouseClient({
    endpoint: values.endpoint ?? env.GATEHOUSE_ENDPOINT ?? 'http://localhost:4444',
    ...(clientId ? { clientId } : {}),
    ...(clientSecret ? { clientSecret } : {}),
  });
}
