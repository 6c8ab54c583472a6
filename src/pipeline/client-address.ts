/**
 * The client's address as the application and the access log see it. On the
 * default dual-stack listener (`::`) Node reports an IPv4 client as
 * `::ffff:127.0.0.1`; Apache, and so mod_wsgi's REMOTE_ADDR, give `127.0.0.1`.
 */
export function clientAddress(address: string | undefined): string | undefined {
  if (address === undefined || !address.startsWith('::ffff:') || !address.includes('.')) return address;
  return address.slice(7);
}
