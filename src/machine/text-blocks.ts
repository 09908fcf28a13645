// Text that arrives a character at a time (the serial console gives one byte per event) and is
// read rarely: appending costs O(1) amortised, reading the last few characters costs what it
// reads, and dropping the oldest text costs per dropped block, not per character.
// A plain `s += c` would build a rope that V8 flattens (copies whole) on each search.

/** Small pieces are joined into one flat block once there are this many of them... */
const PIECES_PER_BLOCK = 256;
/** ...or once they hold this many characters. */
const CHARS_PER_BLOCK = 4096;

export class TextBlocks {
  /** Flat blocks, oldest first; those before #head are dropped. */
  #blocks: string[] = [];
  #head = 0;
  /** The newest text, not yet joined into a block. */
  #pieces: string[] = [];
  #piecesLength = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  append(text: string): void {
    if (text.length === 0) return;
    this.#pieces.push(text);
    this.#piecesLength += text.length;
    this.#length += text.length;
    if (this.#pieces.length >= PIECES_PER_BLOCK || this.#piecesLength >= CHARS_PER_BLOCK) this.#seal();
  }

  /** The last `n` characters (all of them if there are fewer). */
  tail(n: number): string {
    if (n <= 0) return "";
    const parts: string[] = [];
    let got = 0;
    for (let i = this.#pieces.length - 1; i >= 0 && got < n; i--) {
      const piece = this.#pieces[i]!;
      parts.push(piece);
      got += piece.length;
    }
    for (let i = this.#blocks.length - 1; i >= this.#head && got < n; i--) {
      const block = this.#blocks[i]!;
      parts.push(block);
      got += block.length;
    }
    const text = parts.reverse().join("");
    return got > n ? text.slice(got - n) : text;
  }

  /** All the text, as one string (kept as one block afterwards, so a second call is cheap). */
  text(): string {
    this.#seal();
    const all = this.#blocks.slice(this.#head).join("");
    this.#blocks = all ? [all] : [];
    this.#head = 0;
    return all;
  }

  /** Drops the oldest `n` characters. */
  dropHead(n: number): void {
    n = Math.min(n, this.#length);
    if (n <= 0) return;
    this.#seal();
    this.#length -= n;
    while (n > 0) {
      const block = this.#blocks[this.#head]!;
      if (block.length <= n) {
        n -= block.length;
        this.#head++;
      } else {
        this.#blocks[this.#head] = block.slice(n);
        n = 0;
      }
    }
    // Forget dropped blocks once they are the larger part of the array.
    if (this.#head > 64 && this.#head * 2 > this.#blocks.length) {
      this.#blocks = this.#blocks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Keeps at most `max` characters: past that, drops the oldest down to three quarters of it
   *  (the slack keeps dropping rare). Returns how many characters were dropped. */
  bound(max: number): number {
    if (this.#length <= max) return 0;
    const drop = this.#length - (max - Math.floor(max / 4));
    this.dropHead(drop);
    return drop;
  }

  clear(): void {
    this.#blocks = [];
    this.#head = 0;
    this.#pieces = [];
    this.#piecesLength = 0;
    this.#length = 0;
  }

  #seal(): void {
    if (this.#pieces.length === 0) return;
    this.#blocks.push(this.#pieces.length === 1 ? this.#pieces[0]! : this.#pieces.join(""));
    this.#pieces = [];
    this.#piecesLength = 0;
  }
}
