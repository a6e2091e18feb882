/**
 * Requests clients make of this node: the reads and writes it coordinates and the listings it answers.
 * The watchdog reads the count each sample: a CPU alarm slows background work only while clients are
 * served, since with none the CPU is the background work's own, and slowing it gives nobody anything.
 */
export class ClientRequests {
  private count = 0;

  note(): void {
    this.count++;
  }

  /** Requests so far, since the node started. */
  get total(): number {
    return this.count;
  }
}
