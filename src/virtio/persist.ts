// One persistence shape for every stateful piece (the shape of Firecracker's `Persist`, in this
// repository's words: docs/ has the saved formats beside each layout). A piece's saved state
// is plain JSON-able data; a state read back is untrusted input, as untrusted as the guest's
// register writes. So restoring is two steps:
//   check(input, context)  unknown -> Checked: complete, in range, consistent, made for this
//                          piece; changes nothing, and throws an Error that names the field
//   apply(checked)         puts a checked state in place, through the same setters and rules the
//                          register path uses; never refuses (everything was checked)
// A machine checks every piece's state before it applies any, so a state refused anywhere
// leaves the machine as it was. Each piece's Persist lives beside it, in its `*-state.ts`.

export interface Persist<Saved, Checked, Context = void> {
  /** The piece's state now, as plain data (JSON round-trips it unchanged). */
  save(): Saved;
  /** `input` checked against this piece; throws an Error naming the first bad field. */
  check(input: unknown, context: Context): Checked;
  /** A state check() returned, put in place. */
  apply(checked: Checked): void;
}

/** check() then apply(): for one piece alone (a machine checks all its pieces first). */
export function restoreWith<S, C>(p: Persist<S, C>, input: unknown): void {
  p.apply(p.check(input));
}
