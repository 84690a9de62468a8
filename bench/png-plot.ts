/**
 * A tiny PNG line chart: RGB raster, axes with tick labels in a 3×5 pixel font, one polyline per
 * series, a legend, encoded with `node:zlib` (no plotting library is installed). Enough to show
 * a curve in a README, nothing more: no anti-aliasing, linear axes, positive values.
 */
import { deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

export interface Series {
  readonly label: string;
  readonly color: Rgb;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** x values get log2 spacing (worker counts 1, 2, 4, … are then evenly spread). */
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const DEFAULT_WIDTH = 720;
const DEFAULT_HEIGHT = 420;
/** Room for tick labels and titles around the plot area, in pixels. */
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 } as const;
/** Each font pixel drawn as a 2×2 square: 3×5 glyphs are unreadable at 1:1. */
const FONT_SCALE = 2;
const GLYPH_WIDTH = 3;
const GLYPH_HEIGHT = 5;
const Y_TICKS = 5;
const LINE_THICKNESS = 2;
const MARKER_RADIUS = 3;
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

/**
 * 3×5 glyphs, rows top to bottom, `#` = ink. Digits, capitals and the punctuation the labels use;
 * lower case is drawn as upper case.
 */
const FONT: Readonly<Record<string, string>> = {
  '0': '###,#.#,#.#,#.#,###', '1': '.#.,##.,.#.,.#.,###', '2': '###,..#,###,#..,###', '3': '###,..#,.##,..#,###',
  '4': '#.#,#.#,###,..#,..#', '5': '###,#..,###,..#,###', '6': '###,#..,###,#.#,###', '7': '###,..#,..#,.#.,.#.',
  '8': '###,#.#,###,#.#,###', '9': '###,#.#,###,..#,###', A: '.#.,#.#,###,#.#,#.#', B: '##.,#.#,##.,#.#,##.',
  C: '###,#..,#..,#..,###', D: '##.,#.#,#.#,#.#,##.', E: '###,#..,##.,#..,###', F: '###,#..,##.,#..,#..',
  G: '###,#..,#.#,#.#,###', H: '#.#,#.#,###,#.#,#.#', I: '###,.#.,.#.,.#.,###', J: '..#,..#,..#,#.#,###',
  K: '#.#,#.#,##.,#.#,#.#', L: '#..,#..,#..,#..,###', M: '#.#,###,###,#.#,#.#', N: '##.,#.#,#.#,#.#,#.#',
  O: '###,#.#,#.#,#.#,###', P: '###,#.#,###,#..,#..', Q: '###,#.#,#.#,###,..#', R: '##.,#.#,##.,#.#,#.#',
  S: '###,#..,###,..#,###', T: '###,.#.,.#.,.#.,.#.', U: '#.#,#.#,#.#,#.#,###', V: '#.#,#.#,#.#,#.#,.#.',
  W: '#.#,#.#,###,###,#.#', X: '#.#,#.#,.#.,#.#,#.#', Y: '#.#,#.#,.#.,.#.,.#.', Z: '###,..#,.#.,#..,###',
  '.': '...,...,...,...,.#.', '/': '..#,..#,.#.,#..,#..', '-': '...,...,###,...,...', '(': '.#.,#..,#..,#..,.#.',
  ')': '.#.,..#,..#,..#,.#.', '%': '#.#,..#,.#.,#..,#.#', ':': '...,.#.,...,.#.,...', ' ': '...,...,...,...,...',
};

/** An RGB raster with the drawing primitives the chart needs. */
class Raster {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3).fill(WHITE[0]);
  }

  set(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.pixels.set(color, (py * this.width + px) * 3);
  }

  /** Bresenham, drawn `thickness` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const half = Math.floor(thickness / 2);
    for (let step = 0; step <= steps; step++) {
      const x = x0 + ((x1 - x0) * step) / steps;
      const y = y0 + ((y1 - y0) * step) / steps;
      for (let dx = -half; dx < thickness - half; dx++) for (let dy = -half; dy < thickness - half; dy++) this.set(x + dx, y + dy, color);
    }
  }

  disc(cx: number, cy: number, radius: number, color: Rgb): void {
    for (let dx = -radius; dx <= radius; dx++) for (let dy = -radius; dy <= radius; dy++) if (dx * dx + dy * dy <= radius * radius) this.set(cx + dx, cy + dy, color);
  }

  /** Text in the 3×5 font, top-left at (x, y); unknown characters draw as blanks. */
  text(x: number, y: number, value: string, color: Rgb): void {
    let cursor = x;
    for (const char of value.toUpperCase()) {
      const rows = (FONT[char] ?? FONT[' ']).split(',');
      rows.forEach((row, ry) => {
        for (let rx = 0; rx < GLYPH_WIDTH; rx++) {
          if (row[rx] !== '#') continue;
          for (let sx = 0; sx < FONT_SCALE; sx++) for (let sy = 0; sy < FONT_SCALE; sy++) this.set(cursor + rx * FONT_SCALE + sx, y + ry * FONT_SCALE + sy, color);
        }
      });
      cursor += (GLYPH_WIDTH + 1) * FONT_SCALE;
    }
  }
}

/** Width in pixels of `value` in the chart's font. */
function textWidth(value: string): number {
  return value.length * (GLYPH_WIDTH + 1) * FONT_SCALE;
}

/** A tick label: integers as is, others with one decimal. */
function tickLabel(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Renders the chart as a PNG. */
export function renderLineChart(chart: LineChart): Buffer {
  const width = chart.width ?? DEFAULT_WIDTH;
  const height = chart.height ?? DEFAULT_HEIGHT;
  const raster = new Raster(width, height);
  const all = chart.series.flatMap((series) => series.points);
  const xOf = (x: number): number => (chart.logX === true ? Math.log2(x) : x);
  const xs = all.map(([x]) => xOf(x));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1);
  const yMax = niceCeiling(Math.max(...all.map(([, y]) => y), 1));
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + ((xOf(x) - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number): number => MARGIN.top + plotH - (y / yMax) * plotH;
  const glyphH = GLYPH_HEIGHT * FONT_SCALE;

  for (let tick = 0; tick <= Y_TICKS; tick++) {
    const value = (yMax * tick) / Y_TICKS;
    raster.line(MARGIN.left, py(value), MARGIN.left + plotW, py(value), GRID);
    const label = tickLabel(value);
    raster.text(MARGIN.left - textWidth(label) - 6, py(value) - glyphH / 2, label, BLACK);
  }
  for (const x of [...new Set(all.map(([x]) => x))].sort((a, b) => a - b)) {
    raster.line(px(x), MARGIN.top, px(x), MARGIN.top + plotH, GRID);
    const label = tickLabel(x);
    raster.text(px(x) - textWidth(label) / 2, MARGIN.top + plotH + 6, label, BLACK);
  }
  raster.line(MARGIN.left, MARGIN.top, MARGIN.left, MARGIN.top + plotH, BLACK, LINE_THICKNESS);
  raster.line(MARGIN.left, MARGIN.top + plotH, MARGIN.left + plotW, MARGIN.top + plotH, BLACK, LINE_THICKNESS);
  raster.text((width - textWidth(chart.title)) / 2, 10, chart.title, BLACK);
  raster.text(MARGIN.left + (plotW - textWidth(chart.xLabel)) / 2, height - glyphH - 8, chart.xLabel, BLACK);
  raster.text(6, MARGIN.top - glyphH - 8, chart.yLabel, BLACK);

  chart.series.forEach((series, at) => {
    const points = [...series.points].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < points.length; i++) {
      raster.line(px(points[i - 1][0]), py(points[i - 1][1]), px(points[i][0]), py(points[i][1]), series.color, LINE_THICKNESS);
    }
    for (const [x, y] of points) raster.disc(px(x), py(y), MARKER_RADIUS, series.color);
    const legendY = MARGIN.top + 8 + at * (glyphH + 8);
    raster.line(MARGIN.left + 12, legendY + glyphH / 2, MARGIN.left + 36, legendY + glyphH / 2, series.color, LINE_THICKNESS + 1);
    raster.text(MARGIN.left + 42, legendY, series.label, BLACK);
  });
  return encodePng(raster.width, raster.height, raster.pixels);
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`: round axis ends. */
export function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

// ── PNG encoding ─────────────────────────────────────────────────────────────────────────

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const BIT_DEPTH = 8;
/** Colour type 2: truecolour RGB, no alpha. */
const COLOR_TYPE_RGB = 2;
/** Filter type 0 (None) before each scanline: the raster is mostly flat colour, deflate does the rest. */
const FILTER_NONE = 0;
/** The CRC-32 polynomial (reversed) that PNG chunks use. */
const CRC_POLYNOMIAL = 0xedb88320;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? CRC_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of `data`, as PNG chunks carry it. */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A PNG (8-bit RGB) of a `width` × `height` raster given row by row. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(BIT_DEPTH, 8);
  header.writeUInt8(COLOR_TYPE_RGB, 9);
  // Compression, filter and interlace methods: 0 is the only (or the non-interlaced) choice.
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = FILTER_NONE;
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
