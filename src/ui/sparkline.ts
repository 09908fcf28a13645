// A small live chart of a few series (for example MSIs/s and line interrupts/s), drawn on a
// canvas from the last 120 samples.

const COLOURS = ["#5cc8ff", "#ffb454", "#7bd88f"];
const POINTS = 120;

export class Sparkline {
  readonly canvas: HTMLCanvasElement;
  readonly #series: number[][];
  readonly #labels: readonly string[];

  constructor(labels: readonly string[]) {
    this.#labels = labels;
    this.#series = labels.map(() => []);
    this.canvas = document.createElement("canvas");
    this.canvas.width = 360;
    this.canvas.height = 48;
    this.canvas.className = "sparkline";
    this.canvas.setAttribute("role", "img");
  }

  push(values: readonly number[]): void {
    values.forEach((v, i) => {
      const s = this.#series[i]!;
      s.push(v);
      if (s.length > POINTS) s.shift();
    });
    this.#draw();
  }

  #draw(): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const max = Math.max(1, ...this.#series.flat());
    this.#series.forEach((s, i) => {
      ctx.strokeStyle = COLOURS[i % COLOURS.length]!;
      ctx.beginPath();
      s.forEach((v, x) => {
        const px = (x / (POINTS - 1)) * width;
        const py = height - 12 - (v / max) * (height - 14);
        if (x === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      });
      ctx.stroke();
    });
    ctx.font = "10px sans-serif";
    this.#labels.forEach((label, i) => {
      const last = this.#series[i]!.at(-1) ?? 0;
      ctx.fillStyle = COLOURS[i % COLOURS.length]!;
      ctx.fillText(`${label} ${last.toFixed(0)}`, 4 + i * 110, height - 1);
    });
    this.canvas.setAttribute("aria-label", this.#labels.map((l, i) => `${l} ${(this.#series[i]!.at(-1) ?? 0).toFixed(0)}`).join(", "));
  }
}
