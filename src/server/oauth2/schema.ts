import { z } from 'zod';

/** The body of POST /oauth2/flush (Hydra's flush request), for the route and the OpenAPI document. */
export const flushSchema = z.object({ notAfter: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional() }).strict();
