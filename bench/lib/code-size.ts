// The size of code, counted the same way for TypeScript and C: lines that hold something
// other than whitespace and comments. For the kernel patch, the functions it adds whole,
// picked by name, so the driver's mode-specific code can be weighed against each other.

/** Source with comments blanked out (line breaks kept); strings and characters are respected. */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      i += 2;
      while (i < n && !(source[i] === "*" && source[i + 1] === "/")) {
        if (source[i] === "\n") out += "\n";
        i++;
      }
      i += 2;
    } else if (c === '"' || c === "'" || c === "`") {
      const quote = c;
      out += c;
      i++;
      while (i < n && source[i] !== quote) {
        if (source[i] === "\\") out += source[i++] ?? "";
        out += source[i++] ?? "";
      }
      if (i < n) out += source[i++];
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Lines with code on them (not blank, not only comment). */
export function codeLines(source: string): number {
  return stripComments(source).split("\n").filter((l) => l.trim() !== "").length;
}

export interface PatchFunction {
  readonly file: string;
  readonly name: string;
  /** Code lines of the function, its signature and braces included. */
  readonly lines: number;
}

/**
 * The C functions a unified diff adds whole: a definition at the start of an added line, up to
 * the added line that closes it with "}" in column 0. Declarations (ending in ";") are skipped.
 */
export function patchFunctions(patch: string): PatchFunction[] {
  const out: PatchFunction[] = [];
  let file = "";
  let current: { name: string; text: string[] } | null = null;
  for (const raw of patch.split("\n")) {
    if (raw.startsWith("+++ ")) {
      file = raw.slice(4).replace(/^b\//, "");
      current = null;
      continue;
    }
    if (!raw.startsWith("+") || raw.startsWith("+++")) {
      // A context or removed line inside a function: it was not added whole.
      if (current && !raw.startsWith("-")) current = null;
      continue;
    }
    const line = raw.slice(1);
    if (current) {
      current.text.push(line);
      if (line.startsWith("}")) {
        out.push({ file, name: current.name, lines: codeLines(current.text.join("\n")) });
        current = null;
      }
      continue;
    }
    const m = /^(?:static\s+|inline\s+|const\s+|unsigned\s+|struct\s+)*[A-Za-z_][\w]*[\s*]+\**([A-Za-z_]\w*)\(/.exec(line);
    if (m && !line.trimEnd().endsWith(";") && !/^(return|if|for|while|switch)\b/.test(line)) current = { name: m[1]!, text: [line] };
  }
  return out;
}

/** Code lines of the functions whose name matches `name`. */
export function functionLines(fns: readonly PatchFunction[], name: RegExp): { functions: number; lines: number } {
  const picked = fns.filter((f) => name.test(f.name));
  return { functions: picked.length, lines: picked.reduce((s, f) => s + f.lines, 0) };
}

export interface PatchFileStat {
  readonly file: string;
  readonly added: number;
  readonly removed: number;
}

/**
 * Lines added and removed per file by a unified diff (a `git format-patch` file), as its diffstat
 * counts them. Each hunk is read for exactly the lines its header announces, so the mail's
 * signature ("-- ") and text between files are never counted.
 */
export function patchDiffstat(patch: string): PatchFileStat[] {
  const out: { file: string; added: number; removed: number }[] = [];
  let current: { file: string; added: number; removed: number } | null = null;
  let oldLeft = 0;
  let newLeft = 0;
  for (const raw of patch.split("\n")) {
    if (oldLeft > 0 || newLeft > 0) {
      if (raw.startsWith("+")) {
        current!.added++;
        newLeft--;
      } else if (raw.startsWith("-")) {
        current!.removed++;
        oldLeft--;
      } else if (!raw.startsWith("\\")) {
        oldLeft--;
        newLeft--;
      }
      continue;
    }
    if (raw.startsWith("+++ ")) {
      const file = raw.slice(4).replace(/^b\//, "");
      current = out.find((f) => f.file === file) ?? null;
      if (!current) out.push((current = { file, added: 0, removed: 0 }));
      continue;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(raw);
    if (hunk && current) {
      oldLeft = Number(hunk[1] ?? 1);
      newLeft = Number(hunk[2] ?? 1);
    }
  }
  return out;
}
