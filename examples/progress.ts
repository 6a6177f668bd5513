// A one-line progress bar. On a terminal it redraws a single line with \r; elsewhere (CI logs,
// pipes) it prints a plain line at every 10% so the log stays readable.

export interface ProgressOptions {
  label: string;
  /** Name of the counted things, e.g. "clients". */
  unit: string;
  /** Where to draw (default: stderr, so stdout keeps only the report). */
  stream?: NodeJS.WriteStream;
  width?: number;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly width: number;
  private readonly started = performance.now();
  private lastLength = 0;
  /** Non-terminal mode: the next tenth of the total at which to print a line. */
  private nextTenth = 0;

  constructor(
    private readonly total: number,
    private readonly opts: ProgressOptions,
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.width = opts.width ?? 30;
  }

  /** Reports `done` of `total` things; `detail` is appended to the line (e.g. a rate). */
  update(done: number, detail = ''): void {
    const fraction = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
    const counts = `${done}/${this.total} ${this.opts.unit} ${(100 * fraction).toFixed(0).padStart(3)}% ${seconds}s${detail ? ' ' + detail : ''}`;
    if (this.stream.isTTY) {
      const filled = Math.round(fraction * this.width);
      const line = `${this.opts.label} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${counts}`;
      this.stream.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else {
      const tenth = this.total === 0 ? 10 : Math.floor((Math.min(done, this.total) * 10) / this.total);
      if (tenth >= this.nextTenth) {
        this.stream.write(`${this.opts.label}: ${counts}\n`);
        this.nextTenth = tenth + 1;
      }
    }
  }

  /** Ends the bar (moves a terminal to the next line). */
  finish(): void {
    if (this.stream.isTTY && this.lastLength > 0) this.stream.write('\n');
    this.lastLength = 0;
  }
}
