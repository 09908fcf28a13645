import { describe, expect, it } from "vitest";
import { GuestConsole, IDLE_KEEP, MAX_REGEX_MATCH, OutputTooLongError, TimeoutError, type SerialPort } from "./guest-console.ts";

/** A serial port fed by the test: one character per event, as the Machine delivers them. */
class FedPort implements SerialPort {
  #listeners = new Set<(text: string) => void>();
  sent: string[] = [];
  onSend: (text: string) => void = () => {};
  onSerial(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  sendSerial(text: string): void {
    this.sent.push(text);
    this.onSend(text);
  }
  /** Delivers `text` character by character, in batches of `batch`, each in its own task. */
  async feed(text: string, batch = 512): Promise<void> {
    for (let i = 0; i < text.length; i += batch) {
      const end = Math.min(text.length, i + batch);
      for (let j = i; j < end; j++) for (const l of this.#listeners) l(text[j]!);
      await nextTask();
    }
  }
}

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Plays a busybox shell behind the port: echoes the line, runs the command through `run`,
 *  prints the exec markers with the status, then the prompt. */
function shell(port: FedPort, run: (command: string) => { out: string; status: number }): void {
  port.onSend = (line) => {
    const m = /^printf '\\001B%d\\002\\n' (\d+); \((.*)\) <\/dev\/null; printf '\\001E%d %d\\002\\n' \1 \$\?\n$/s.exec(line);
    if (!m) throw new Error(`not an exec line: ${line}`);
    const { out, status } = run(m[2]!);
    const reply = line.replace(/\n$/, "\r\n") + `\u0001B${m[1]}\u0002\r\n` + out.replace(/\n/g, "\r\n") + `\u0001E${m[1]} ${status}\u0002\r\n~ # `;
    setImmediate(() => void port.feed(reply, 97));
  };
}

/** Counts the characters every search was handed: the work the console does. */
class CountingRegExp extends RegExp {
  scanned = 0;
  calls = 0;
  override exec(text: string): RegExpExecArray | null {
    this.scanned += text.length;
    this.calls++;
    return super.exec(text);
  }
}

describe("GuestConsole", () => {
  it("runs commands: exact output with \\n line ends and the exit status, one after another", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port);
    shell(port, (command) => (command === "false" ? { out: "", status: 1 } : { out: `ran ${command}\nline 2\n`, status: 0 }));
    expect(await c.exec("echo a", 5000)).toEqual({ output: "ran echo a\nline 2\n", status: 0 });
    expect(await c.exec("false", 5000)).toEqual({ output: "", status: 1 });
    expect(await c.exec("x; y", 5000)).toEqual({ output: "ran x; y\nline 2\n", status: 0 });
    expect(port.sent).toHaveLength(3);
  });

  it("finds a prompt that arrives one character per task, and hands back the text before it", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port);
    const wait = c.waitFor("~ # ", 5000);
    await port.feed("Linux booting\r\nlogin ok\r\n~ # ", 1);
    const { before, dropped } = await wait;
    expect(before).toBe("Linux booting\r\nlogin ok\r\n");
    expect(dropped).toBe(0);
    // Consumed: the same prompt is not found twice.
    await expect(c.waitFor("~ # ", 50)).rejects.toBeInstanceOf(TimeoutError);
  });

  it("finds text that arrived before the wait began, and a regex match spanning many batches", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port);
    await port.feed("early PROMPT> late");
    expect((await c.waitFor("PROMPT> ", 1000)).before).toBe("early ");
    const long = "<" + "y".repeat(MAX_REGEX_MATCH - 10) + ">";
    const wait = c.waitFor(/<y+>/, 5000);
    await port.feed("noise " + long + " after", 3);
    const { match, before } = await wait;
    expect(match[0]).toBe(long);
    expect(before).toBe("late" + "noise ");
  });

  it("a timeout names the pattern and shows the console's last lines", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port);
    await port.feed("one\r\ntwo\r\nthree");
    const error = await c.waitFor("never", 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/waiting for never.*\n[\s\S]*two\nthree$/);
  });

  it("searching costs time linear in the input: 20 MB cost twice what 10 MB did", async () => {
    const work = async (megabytes: number): Promise<{ scanned: number; batches: number; chars: number }> => {
      const port = new FedPort();
      const c = new GuestConsole(port, { maxCapture: 64 * 1024 * 1024 });
      const re = new CountingRegExp("\u0001DONE\u0002");
      const wait = c.waitFor(re, 120_000);
      const line = "x".repeat(78) + "\r\n";
      const text = line.repeat((megabytes * 1024 * 1024) / line.length) + "\u0001DONE\u0002";
      // Batches of varied size, as the emulator's slices give them: some a single character.
      const sizes = [1, 1, 37, 4096, 16_384, 700];
      let batches = 0;
      for (let i = 0, k = 0; i < text.length; k++) {
        const size = sizes[k % sizes.length]!;
        await port.feed(text.slice(i, i + size), size);
        i += size;
        batches++;
      }
      const { before } = await wait;
      expect(before.length).toBe(text.length - 6);
      return { scanned: re.scanned, batches, chars: text.length };
    };
    const ten = await work(10);
    const twenty = await work(20);
    // Each search covers the new batch plus a longest match back: bounded per character and
    // per batch (a search of the whole buffer per batch, as before, scanned ~10^11 characters).
    for (const w of [ten, twenty]) expect(w.scanned).toBeLessThanOrEqual(w.chars + w.batches * MAX_REGEX_MATCH);
    for (const w of [ten, twenty]) expect(w.scanned).toBeLessThan(2 * w.chars);
    expect(twenty.scanned / ten.scanned).toBeGreaterThan(1.8);
    expect(twenty.scanned / ten.scanned).toBeLessThan(2.2);
  }, 120_000);

  it("regex patterns search a bounded window per batch too", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port);
    const re = new CountingRegExp("END(\\d+)!");
    const wait = c.waitFor(re, 60_000);
    const text = "z".repeat(2_000_000) + "END42!";
    await port.feed(text, 1000);
    expect((await wait).match[1]).toBe("42");
    expect(re.scanned).toBeLessThanOrEqual(text.length + re.calls * MAX_REGEX_MATCH);
    expect(re.scanned).toBeLessThan(3 * text.length);
  });

  it("keeps a bounded amount: little while nobody waits, maxCapture while a command runs", async () => {
    const port = new FedPort();
    const c = new GuestConsole(port, { maxCapture: 1024 * 1024 });
    let most = 0;
    const text = "y".repeat(99) + "\n";
    for (let i = 0; i < 200; i++) {
      await port.feed(text.repeat(1000), 10_000); // 100 KB per round, 20 MB in all
      most = Math.max(most, c.held);
    }
    expect(most).toBeLessThanOrEqual(IDLE_KEEP);
    expect(c.log.length).toBeLessThanOrEqual(2_000_000);
    expect(c.log.length).toBeGreaterThanOrEqual(1_000_000);

    // A command printing 4 MB with 1 MB allowed: memory stays bounded and exec says so.
    shell(port, () => ({ out: "o".repeat(4 * 1024 * 1024), status: 0 }));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, c.held)), 1);
    const error = await c.exec("cat big", 60_000).catch((e: unknown) => e);
    clearInterval(sampler);
    expect(error).toBeInstanceOf(OutputTooLongError);
    expect(peak).toBeLessThanOrEqual(1024 * 1024);
    // The console is still usable afterwards.
    shell(port, () => ({ out: "fine\n", status: 0 }));
    expect(await c.exec("echo fine", 5000)).toEqual({ output: "fine\n", status: 0 });
  }, 60_000);
});
