/**
 * Combinations of the supervision options (recycling, watchdog, privileges)
 * that make no sense together: a UsageError naming the flags, before anything
 * starts. Each value on its own was checked by its schema already.
 */
import { UsageError } from '../errors.js';

export function checkSupervisionOptions(v: Record<string, unknown>): void {
  const user = v.user as { name: string; uid: number } | undefined;
  if (user?.uid === 0 && v.allowRoot !== true) {
    throw new UsageError(`--user ${user.name}: the workers would run the application as root; give --allow-root if that is really meant`);
  }
  if ((v.maximumRequestsJitter as number) > 0 && !((v.maximumRequests as number) > 0)) {
    throw new UsageError('--maximum-requests-jitter needs --maximum-requests (the jitter is added to it)');
  }
}
