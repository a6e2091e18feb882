/**
 * Whether this storage node serves and hands on its data. Closed while a node that was away longer
 * than the purge horizon finds out whether it must drop what it held (presence-keeper.ts): meanwhile
 * its router refuses object requests, it counts itself down as a replica when it coordinates, and its
 * repair, anti-entropy and reaper loops wait.
 */
export class PresenceGate {
  constructor(private open: boolean) {}

  get serving(): boolean {
    return this.open;
  }

  close(): void {
    this.open = false;
  }

  reopen(): void {
    this.open = true;
  }
}
