/**
 * The bench's results: one row per measured or computed line, their ratios to
 * anchors and bounds, and the tables printed at the end.
 */

import type { Sample } from "./common.ts";

/** One line of a table: a measured job, a ratio copy, or a computed bound. */
export interface Row {
  group: string;
  label: string;
  runtime: string;
  samples: Sample[];
  min: number;
  median: number;
  max: number;
  unit: string;
  note?: string;
  ratio?: number;
  vs?: string;
  target?: string;
  /** The TLS suite the case reported, if any. */
  cipher?: string;
}

/** Every row, in the order they are printed. */
export const rows: Row[] = [];

/** A row from the samples of one job. */
export function summarize(group: string, label: string, runtime: string, samples: Sample[]): Row {
  const ok = samples.filter((s) => Number.isFinite(s.value)).map((s) => s.value).sort((a, b) =>
    a - b
  );
  const bad = samples.find((s) => !Number.isFinite(s.value));
  const row: Row = {
    group,
    label,
    runtime,
    samples,
    min: ok.length ? ok[0] : NaN,
    median: ok.length ? ok[Math.floor((ok.length - 1) / 2)] : NaN,
    max: ok.length ? ok[ok.length - 1] : NaN,
    unit: samples.find((s) => s.unit)?.unit ?? "",
  };
  if (ok.length % 2 === 0 && ok.length) {
    row.median = (ok[ok.length / 2 - 1] + ok[ok.length / 2]) / 2;
  }
  if (bad) row.note = bad.skipped ? `skipped: ${bad.skipped}` : `error: ${bad.error}`;
  const extra = samples.find((s) =>
    s.lastReused !== undefined || s.reused !== undefined || s.cipher
  );
  if (extra?.lastReused === false || extra?.reused === false) {
    row.note = (row.note ? row.note + "; " : "") + "NOT resumed";
  }
  if (extra?.cipher) {
    row.cipher = String(extra.cipher);
    row.note = (row.note ? row.note + "; " : "") + row.cipher;
  }
  const cpu = samples.map((s) => s.cpuUsPerConn).filter((v): v is number => typeof v === "number")
    .sort((a, b) => a - b);
  if (cpu.length) {
    const median = cpu[Math.floor((cpu.length - 1) / 2)];
    row.note = (row.note ? row.note + "; " : "") + `${median.toFixed(0)} µs CPU/conn (both ends)`;
  }
  rows.push(row);
  return row;
}

/** Sets `row`'s ratio to `anchor` (medians). */
export function ratio(row: Row, anchor: Row | undefined, target?: string): void {
  if (!anchor || !Number.isFinite(row.median) || !Number.isFinite(anchor.median)) return;
  // For memory smaller is better: report jsec/anchor all the same (the reader sees the unit).
  row.ratio = row.median / anchor.median;
  row.vs = `${anchor.label}`;
  row.target = target;
}

/**
 * The most a one-thread binding of this libssl can reach: the runtime's raw TCP
 * doing the case's socket work, then the C engine loop doing its TLS work, one
 * after the other (both ends share one thread). Rates add as times:
 * 1 / (1 / raw + 1 / C), per statistic. Where the bound is below an anchor, a
 * target against that anchor cannot be met with this libssl on one thread.
 */
export function boundRow(
  group: string,
  label: string,
  runtime: string,
  raw: Row,
  c: Row,
): Row | null {
  const sum = (a: number, b: number) => 1 / (1 / a + 1 / b);
  const row: Row = {
    group,
    label,
    runtime,
    samples: [],
    min: sum(raw.min, c.min),
    median: sum(raw.median, c.median),
    max: sum(raw.max, c.max),
    unit: raw.unit,
    cipher: c.cipher,
    note: "computed: raw TCP then the C loop" + (c.cipher ? `; ${c.cipher}` : ""),
  };
  if (!Number.isFinite(row.median)) return null;
  rows.push(row);
  return row;
}

/** A copy of `row` with its ratio to `anchor` (a bound or a target anchor). */
export function ratioRow(row: Row, label: string, anchor: Row | undefined, target?: string): void {
  const copy: Row = { ...row, label };
  ratio(copy, anchor, target);
  if (copy.ratio !== undefined) rows.push(copy);
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return "-";
  if (unit === "B/conn") return `${(v / 1024).toFixed(1)} KiB`;
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** Prints every group as a table; `runs` is the number of runs per row. */
export function printTables(runs: number): void {
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const gname of groups) {
    const rs = rows.filter((r) => r.group === gname);
    const unit = rs.find((r) => r.unit)?.unit ?? "";
    console.log(`\n## ${gname}  (${unit}; ${runs} run${runs > 1 ? "s" : ""}: min / median / max)`);
    const lines = rs.map((r) => [
      r.runtime,
      r.label,
      fmt(r.min, r.unit),
      fmt(r.median, r.unit),
      fmt(r.max, r.unit),
      r.ratio !== undefined
        ? `${r.ratio.toFixed(2)}x ${r.vs}` + (r.target ? ` (target ${r.target})` : "")
        : "",
      r.note ?? "",
    ]);
    const head = ["runtime", "impl", "min", "median", "max", "ratio jsec/anchor", "note"];
    const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const line = (l: string[]) =>
      l.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd();
    console.log(line(head));
    for (const l of lines) console.log(line(l));
  }
}
