/** What every decision knows about the request that asked for it, from the edge. */
export interface RequestContext {
  requestId: string;
  clientIp: string | null;
}
