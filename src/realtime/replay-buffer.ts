/**
 * The frames one side has sent and the other has not yet acknowledged, in sequence
 * order, so they can be sent again on a new socket after a reconnect.
 *
 * Bounded: when full, the oldest frame is dropped. Dropping is not a silent loss:
 * - a frame that was never written to any socket can no longer reach the peer, so
 *   `push` reports it and the owner closes the session with LOST_MESSAGES at once;
 * - a frame that was written may or may not have arrived; the peer tells us on resume
 *   (its ack), and `canReplayFrom` refuses when the frames it needs are gone.
 *
 * A ring that grows by doubling up to `limit`: sequence numbers are contiguous, so only
 * the texts are stored, and an idle session costs a few slots, not `limit`.
 */
export class ReplayBuffer {
  readonly limit: number;
  #ring: Array<string | undefined>;
  /** Ring index of the oldest frame. */
  #start = 0;
  #count = 0;
  /** Highest sequence number no longer held (acknowledged or dropped); the oldest held is floor + 1. */
  #floor = 0;
  /** Highest sequence number written to a socket. */
  #written = 0;

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError("a replay buffer holds at least one frame");
    this.limit = limit;
    this.#ring = new Array<string | undefined>(Math.min(16, limit));
  }

  get size(): number {
    return this.#count;
  }

  /** Highest sequence number pushed so far. */
  get last(): number {
    return this.#floor + this.#count;
  }

  /**
   * Adds frame `seq`, which must be `last + 1` (the channel guarantees it). Returns false
   * when making room dropped a frame that was never written.
   */
  push(seq: number, text: string): boolean {
    if (seq !== this.last + 1) throw new RangeError(`frame ${seq} does not follow ${this.last}`);
    let ok = true;
    const ring = this.#ring;
    if (this.#count === ring.length) {
      if (ring.length < this.limit) {
        this.#grow();
      } else {
        // Full: drop the oldest.
        const dropped = this.#floor + 1;
        if (dropped > this.#written) ok = false;
        ring[this.#start] = undefined;
        this.#start = (this.#start + 1) % ring.length;
        this.#count--;
        this.#floor = dropped;
      }
    }
    const r = this.#ring;
    r[(this.#start + this.#count) % r.length] = text;
    this.#count++;
    return ok;
  }

  markWritten(seq: number): void {
    if (seq > this.#written) this.#written = seq;
  }

  /** The peer has everything up to `seq`: forget it. */
  ack(seq: number): void {
    const ring = this.#ring;
    while (this.#count > 0 && this.#floor < seq) {
      ring[this.#start] = undefined;
      this.#start = (this.#start + 1) % ring.length;
      this.#count--;
      this.#floor++;
    }
  }

  /** True when every frame after `peerAck` is still here (and `peerAck` is not from the future). */
  canReplayFrom(peerAck: number): boolean {
    return peerAck >= this.#floor && peerAck <= this.last;
  }

  /** Frames after `peerAck`, oldest first. Call `canReplayFrom` first. */
  *entriesAfter(peerAck: number): Generator<[seq: number, text: string]> {
    const ring = this.#ring;
    for (let i = Math.max(0, peerAck - this.#floor); i < this.#count; i++) {
      yield [this.#floor + 1 + i, ring[(this.#start + i) % ring.length]!];
    }
  }

  /** Starts an empty buffer after `floor` (used when a session is rebuilt from shared state). */
  reset(floor: number): void {
    this.#ring = new Array<string | undefined>(Math.min(16, this.limit));
    this.#start = 0;
    this.#count = 0;
    this.#floor = floor;
    this.#written = floor;
  }

  #grow(): void {
    const old = this.#ring;
    const next = new Array<string | undefined>(Math.min(this.limit, old.length * 2));
    for (let i = 0; i < this.#count; i++) next[i] = old[(this.#start + i) % old.length];
    this.#ring = next;
    this.#start = 0;
  }
}
