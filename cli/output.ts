/**
 * What the command line prints: tables for people, one JSON document for scripts (`--json`), and
 * a progress bar for long jobs only when stdout is a terminal (a bar in a log file or a pipe is
 * noise, and `--json` output must stay one parseable document).
 */
import { BLOCK_SIZE } from '../shared/core/constants';

/** One column of a table: its header and how to show a row's value. */
export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | undefined;
  /** Numbers read best right-aligned. */
  readonly align?: 'left' | 'right';
}

/** Spaces between two columns. */
const COLUMN_GAP = '  ';

/** A plain-text table: a header line, a rule, one line per row; columns as wide as their widest cell. */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => String(column.value(row) ?? '')));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index].length)));
  const pad = (text: string, index: number): string =>
    columns[index].align === 'right' ? text.padStart(widths[index]) : text.padEnd(widths[index]);
  const line = (texts: readonly string[]): string => texts.map(pad).join(COLUMN_GAP).trimEnd();
  return [line(columns.map((column) => column.header)), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

/** Bytes in one MiB. */
const MIB = 1_048_576;

/** `1536` blocks → `768 MiB`; GiB above 1,024 MiB. */
export function formatBlocks(blocks: number): string {
  const mib = (blocks * BLOCK_SIZE) / MIB;
  return mib >= 1_024 ? `${(mib / 1_024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}

/** `83_400` ms → `1m 23.4s`; seconds with one decimal under a minute. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1_000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m ${(seconds - minutes * 60).toFixed(1)}s`;
}

/** Characters of the bar itself. */
const BAR_WIDTH = 24;

/**
 * One progress line: `[#####-----]  120/480 blocks  31.2 MiB/s  ETA 6s`, or, while the total is
 * unknown, `  120 blocks  31.2 MiB/s`.
 */
export function formatProgress(label: string, done: number, total: number | undefined, elapsedMs: number): string {
  const seconds = elapsedMs / 1_000;
  const mibPerSecond = seconds > 0 ? (done * BLOCK_SIZE) / MIB / seconds : 0;
  const rate = `${mibPerSecond.toFixed(1)} MiB/s`;
  if (total === undefined || total <= 0) return `${label}  ${done} blocks  ${rate}`;
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const etaSeconds = done > 0 ? ((total - done) * seconds) / done : undefined;
  const eta = etaSeconds === undefined ? 'ETA ?' : `ETA ${Math.max(0, Math.round(etaSeconds))}s`;
  return `${label} ${bar} ${done}/${total} blocks  ${rate}  ${eta}`;
}

/** Where output goes; tests give buffers. */
export interface OutputStreams {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
}

/** Redraws at most this often: a terminal repainted per block would cost more than the copy. */
const PROGRESS_REDRAW_MS = 100;

/** A progress bar that draws only on a terminal and never in `--json` mode. */
export class ProgressBar {
  private done = 0;
  private total: number | undefined;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly output: Output,
    private readonly label: string,
  ) {}

  /** Sets the total once it is known (the plan of the job). */
  setTotal(total: number): void {
    this.total = total;
    this.draw(false);
  }

  /** Counts `blocks` more done. */
  tick(blocks = 1): void {
    this.done += blocks;
    this.draw(false);
  }

  /** Clears the line. */
  finish(): void {
    if (this.output.interactive) this.output.streams.stdout.write('\r\u001b[2K');
  }

  private draw(force: boolean): void {
    if (!this.output.interactive) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < PROGRESS_REDRAW_MS) return;
    this.lastDraw = now;
    this.output.streams.stdout.write(`\r\u001b[2K${formatProgress(this.label, this.done, this.total, now - this.started)}`);
  }
}

/** The command's printer: people get text, scripts (`--json`) get exactly one JSON document on stdout. */
export class Output {
  constructor(
    readonly json: boolean,
    readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
  ) {}

  /** Progress and bars only when a person watches a terminal. */
  get interactive(): boolean {
    return !this.json && this.streams.stdout.isTTY === true;
  }

  /** The command's result: `data` as JSON, or `render(data)` as text. */
  result<T>(data: T, render: (data: T) => string): void {
    this.streams.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${render(data)}\n`);
  }

  /** A line of narration (the tour's story, "starting…"): stdout for people, stderr under `--json`. */
  say(text: string): void {
    (this.json ? this.streams.stderr : this.streams.stdout).write(`${text}\n`);
  }

  progress(label: string): ProgressBar {
    return new ProgressBar(this, label);
  }
}
