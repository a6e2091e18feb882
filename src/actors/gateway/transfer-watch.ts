/**
 * Watches one transfer's pace (see core/transfer-pace.ts) against the gateway's floor: checks it a few
 * times per window while the transfer runs, and calls `tooSlow` once if it falls below.
 */
import { TransferPace, type PaceFloor } from '../../core/transfer-pace.js';
import type { Clock } from '../../runtime/clock.js';
import type { GatewayConfig } from './gateway-config.js';

export type PaceSettings = Pick<GatewayConfig, 'minBodyBytesPerSec' | 'bodyRateWindowMs'>;

export interface PaceWatch {
  /** Tell it when the transfer waits on the client, when it stops waiting, and what the client moved. */
  readonly pace: TransferPace;
  stop(): void;
}

/** How often a transfer is checked: a tenth of the window, within bounds that keep checks cheap and timely. */
const MIN_CHECK_MS = 10;
const MAX_CHECK_MS = 1_000;

export function paceFloorOf(settings: PaceSettings): PaceFloor {
  return { minBytesPerSec: settings.minBodyBytesPerSec, windowMs: settings.bodyRateWindowMs };
}

/**
 * `sample`, when given, runs before each check: a transfer whose progress is read rather than told
 * (how much a socket has taken) reports it to the pace there.
 */
export function watchPace(clock: Clock, settings: PaceSettings, tooSlow: () => void, sample?: () => void): PaceWatch {
  const floor = paceFloorOf(settings);
  const pace = new TransferPace(floor);
  if (floor.minBytesPerSec <= 0) return { pace, stop: () => undefined };
  const everyMs = Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, Math.floor(floor.windowMs / 10)));
  const timer = clock.setInterval(() => {
    sample?.();
    if (!pace.tooSlow(clock.now())) return;
    timer.cancel();
    tooSlow();
  }, everyMs);
  return { pace, stop: () => timer.cancel() };
}
