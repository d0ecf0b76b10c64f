export { GatehouseClient, basic, type GatehouseClientOptions } from './client.js';
export { GatehouseApiError, GatehouseUnavailableError } from './errors.js';
export type * from './types.js';
