/**
 * Requests clients make of this node: the reads and writes it coordinates, its part in those another
 * node coordinates (replica reads and writes sent for a client, the first step of a conditional write)
 * and the listings it answers. Background work that goes through the client API (lifecycle, sweeps)
 * counts too, which errs on the side of throttling. The watchdog reads the count each sample: a CPU
 * alarm slows background work only while clients are served, since with none the CPU is the
 * background work's own, and slowing it gives nobody anything.
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
