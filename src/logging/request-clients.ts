/**
 * The client address (`address:port`) of each request in flight, by request id,
 * for an --error-log-format with %a. Filled by the log-client pipeline stage only
 * when the format asks for it, so no other server pays for the map.
 */
const clients = new Map<string, string>();

export function setClient(rid: string, client: string): void {
  clients.set(rid, client);
}

export function forgetClient(rid: string): void {
  clients.delete(rid);
}

export function clientOf(rid: string): string | undefined {
  return clients.get(rid);
}
