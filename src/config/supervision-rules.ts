/**
 * Combinations of the supervision options (recycling, watchdog, privileges)
 * that make no sense together: a UsageError naming the flags, before anything
 * starts. Each value on its own was checked by its schema already.
 */
import { UsageError } from '../errors.js';

export function checkSupervisionOptions(v: Record<string, unknown>): void {
  if ((v.maximumRequestsJitter as number) > 0 && !((v.maximumRequests as number) > 0)) {
    throw new UsageError('--maximum-requests-jitter needs --maximum-requests (the jitter is added to it)');
  }
}
