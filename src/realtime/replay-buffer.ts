/**
 * The frames one side has sent and the other has not yet acknowledged, in sequence
 * order, so they can be sent again on a new socket after a reconnect.
 *
 * Bounded: when full, the oldest frame is dropped. Dropping is not a silent loss:
 * - a frame that was never written to any socket can no longer reach the peer, so
 *   `push` reports it and the owner closes the session with LOST_MESSAGES at once;
 * - a frame that was written may or may not have arrived; the peer tells us on resume
 *   (its ack), and `canReplayFrom` refuses when the frames it needs are gone.
 */
export class ReplayBuffer {
  readonly limit: number;
  #seqs: number[] = [];
  #texts: string[] = [];
  #head = 0;
  /** Highest sequence number no longer held (acknowledged or dropped). */
  #floor = 0;
  /** Highest sequence number written to a socket. */
  #written = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.#seqs.length - this.#head;
  }

  /** Highest sequence number pushed so far. */
  get last(): number {
    return this.size > 0 ? this.#seqs[this.#seqs.length - 1]! : this.#floor;
  }

  /** Adds a frame. Returns false when making room dropped a frame that was never written. */
  push(seq: number, text: string): boolean {
    this.#seqs.push(seq);
    this.#texts.push(text);
    let ok = true;
    while (this.size > this.limit) {
      const dropped = this.#seqs[this.#head]!;
      if (dropped > this.#written) ok = false;
      this.#floor = dropped;
      this.#head++;
    }
    this.#compact();
    return ok;
  }

  markWritten(seq: number): void {
    if (seq > this.#written) this.#written = seq;
  }

  /** The peer has everything up to `seq`: forget it. */
  ack(seq: number): void {
    while (this.size > 0 && this.#seqs[this.#head]! <= seq) {
      this.#floor = this.#seqs[this.#head]!;
      this.#head++;
    }
    if (seq > this.#floor && seq <= this.last) this.#floor = seq;
    this.#compact();
  }

  /** True when every frame after `peerAck` is still here (and `peerAck` is not from the future). */
  canReplayFrom(peerAck: number): boolean {
    return peerAck >= this.#floor && peerAck <= this.last;
  }

  /** Frames after `peerAck`, oldest first. Call `canReplayFrom` first. */
  *entriesAfter(peerAck: number): Generator<[seq: number, text: string]> {
    for (let i = this.#head; i < this.#seqs.length; i++) {
      if (this.#seqs[i]! > peerAck) yield [this.#seqs[i]!, this.#texts[i]!];
    }
  }

  /** Starts an empty buffer at `seq` (used when a session is rebuilt from shared state). */
  reset(floor: number): void {
    this.#seqs = [];
    this.#texts = [];
    this.#head = 0;
    this.#floor = floor;
    this.#written = floor;
  }

  // Shifting arrays is O(n); instead move the head and compact now and then.
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#texts = this.#texts.slice(this.#head);
      this.#head = 0;
    }
  }
}
