// A small live chart of a few series sharing one unit (MSIs/s and line interrupts/s; read and
// write MB/s), drawn on a canvas from the last 120 samples. The canvas carries its figures as
// text too (aria-label for screen readers; data-samples and data-peaks for tests).

const COLOURS = ["#5cc8ff", "#ffb454", "#7bd88f"];
const POINTS = 120;
/** CSS pixels. */
const HEIGHT = 44;

export interface Series {
  label: string;
  /** Decimals shown for the latest value. Default 0. */
  digits?: number;
}

export class Sparkline {
  readonly canvas: HTMLCanvasElement;
  readonly #values: number[][];
  readonly #series: readonly Series[];
  readonly #peaks: number[];
  #samples = 0;

  constructor(title: string, series: readonly Series[]) {
    this.#series = series;
    this.#values = series.map(() => []);
    this.#peaks = series.map(() => 0);
    this.canvas = document.createElement("canvas");
    this.canvas.width = 360;
    this.canvas.height = HEIGHT;
    this.canvas.className = "sparkline";
    this.canvas.title = title;
    this.canvas.dataset["chart"] = title;
    this.canvas.setAttribute("role", "img");
  }

  push(values: readonly number[]): void {
    values.forEach((v, i) => {
      const s = this.#values[i]!;
      s.push(v);
      if (s.length > POINTS) s.shift();
      this.#peaks[i] = Math.max(this.#peaks[i]!, v);
    });
    this.#samples++;
    this.canvas.dataset["samples"] = String(this.#samples);
    this.canvas.dataset["peaks"] = this.#peaks.map((p) => p.toFixed(2)).join(",");
    this.#draw();
  }

  #latest(i: number): string {
    return (this.#values[i]!.at(-1) ?? 0).toFixed(this.#series[i]!.digits ?? 0);
  }

  #draw(): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    // Draw at the size the canvas is shown (in device pixels), so the labels stay sharp and
    // readable however wide the panel is.
    const scale = devicePixelRatio || 1;
    const shown = Math.round(this.canvas.clientWidth * scale);
    if (shown > 0 && this.canvas.width !== shown) {
      this.canvas.width = shown;
      this.canvas.height = Math.round(HEIGHT * scale);
    }
    ctx.setTransform(this.canvas.width / (this.canvas.clientWidth || this.canvas.width), 0, 0, this.canvas.height / HEIGHT, 0, 0);
    const width = this.canvas.clientWidth || this.canvas.width;
    const height = HEIGHT;
    ctx.clearRect(0, 0, width, height);
    let max = 0;
    for (const s of this.#values) for (const v of s) if (v > max) max = v;
    // Small rates still show as a line above the floor, not a flat one.
    max = Math.max(max, 1e-9) * 1.1;
    ctx.lineWidth = 1.5;
    this.#values.forEach((s, i) => {
      ctx.strokeStyle = COLOURS[i % COLOURS.length]!;
      ctx.beginPath();
      const offset = POINTS - s.length;
      s.forEach((v, x) => {
        const px = ((x + offset) / (POINTS - 1)) * width;
        const py = height - 13 - (v / max) * (height - 16);
        if (x === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      });
      ctx.stroke();
    });
    ctx.font = "11px sans-serif";
    this.#series.forEach((s, i) => {
      ctx.fillStyle = COLOURS[i % COLOURS.length]!;
      ctx.fillText(`${s.label} ${this.#latest(i)}`, 4 + i * Math.max(80, width / 2), height - 2);
    });
    this.canvas.setAttribute(
      "aria-label",
      `${this.canvas.title}: ${this.#series.map((s, i) => `${s.label} ${this.#latest(i)}`).join(", ")}`,
    );
  }
}
