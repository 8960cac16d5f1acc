/**
 * A probe pod queued for the companion (the run's budget is spent, src/controller/companion-budget.ts)
 * is created before its turn, so that its start-up, settle and path wait overlap the pods ahead
 * of it; it opens no tunnel until the controller gives it a lane. The controller says so on the
 * pod's own annotation, which the kubelet writes to a downward-API file: the go reaches the probe
 * over the Kubernetes API, never over the network the probe tests, and needs no token.
 *
 * A queued pod dials nothing before its lane, its must-fail checks included: while it waits it
 * sends nothing, the path watch's samples neither. Those samples, from every queued pod twice a
 * second, were enough at 100 distinct twins to keep the lab companion from accepting within a
 * second: blocks the watch then rightly left unproven.
 */

import { readFile } from 'node:fs/promises';

export const LANE_ANNOTATION = 'egress-verify.dev/lane';
export const LANE_GO = 'go';
export const LANE_WAIT = 'wait';
/** The kubelet rewrites the file within a fraction of a second of the patch; a read costs little. */
const POLL_MS = 100;

/**
 * Whether the lane's go came by `deadline` (a performance.now() time; the probe passes its
 * lane wait, which so counts from its start). Polled, bounded by count and time.
 */
export async function awaitLane(
  file: string,
  deadline: number,
  read: (file: string) => Promise<string> = (f) => readFile(f, 'utf8'),
): Promise<boolean> {
  const polls = Math.ceil(Math.max(0, deadline - performance.now()) / POLL_MS) + 1;
  for (let n = 0; n < polls; n++) {
    // Missing or unreadable counts as not yet: the file is the kubelet's, written as it syncs.
    if ((await read(file).catch(() => '')).trim() === LANE_GO) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
  return false;
}
