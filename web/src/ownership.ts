// The same agent in several browser tabs sees the same desk in each, but its widgets run in
// one tab only, the newest (a softphone must never ring twice); the others offer to take them
// over. The tabs agree through a BroadcastChannel of this origin.

export class Ownership {
  /** Whether this tab runs the widgets. */
  active = true;
  private readonly channel: BroadcastChannel;
  private readonly id = crypto.randomUUID();

  constructor(agentId: string, changed: () => void) {
    // One channel per agent: tabs of other agents in the same browser do not interfere.
    this.channel = new BroadcastChannel(`cif-desk-widgets-${agentId}`);
    this.channel.onmessage = (message: MessageEvent<{ claim: string }>) => {
      if (message.data.claim !== this.id && this.active) {
        this.active = false;
        changed();
      }
    };
    this.claim = () => {
      this.active = true;
      this.channel.postMessage({ claim: this.id });
      changed();
    };
    this.claim();
  }

  /** Takes the widgets into this tab; the others unload theirs. */
  claim: () => void;

  close(): void {
    this.channel.close();
  }
}
