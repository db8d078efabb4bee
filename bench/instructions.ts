/**
 * Instructions per unit of work, counted by valgrind's callgrind: an A/B
 * that the load on this shared box barely moves. Each implementation runs
 * `bench/case.ts` twice under callgrind, with a short and a long count; the
 * difference over the extra connections (or round trips) is the steady-state
 * cost of one, startup and JIT warm-up cancelled out. V8 runs with
 * `--predictable` (no background compiler or GC threads, no GC heuristics
 * driven by the clock): two runs of one tree then gave per-connection figures
 * within 0.05% of each other for resumption. Without it they moved by up to 2%,
 * and by 7% for echo. Two counts running side by side on a 2-core box moved by
 * up to 1% for resumption. Repeat a run alone before trusting a difference
 * under 1%.
 *
 *   deno run -A bench/instructions.ts [--case resume|echo] [--tls TLS1.2|TLS1.3]
 *                                     [--impls jsec,hand] [--runs-at 100,2100]
 *
 * `--impls` takes `bench/case.ts`'s implementations; `hand` is the floor.
 *
 * User-space instructions only (both ends, all threads); the kernel's socket
 * work is the same for every implementation and is not counted. Deno only:
 * JavaScriptCore under valgrind runs without its JIT, so Bun's counts would
 * not describe Bun. Needs valgrind (`apt-get install valgrind`).
 */

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { argv, g, makeCerts, parseArgs, RUNTIME } from "./common.ts";

const A = parseArgs(argv());
const HERE = dirname(fileURLToPath(import.meta.url));
const CASE = String(A.case ?? "resume");
const IMPLS = String(A.impls ?? "jsec,hand").split(",");
const UNIT = CASE === "echo" ? "round trip" : "connection";
const [SHORT, LONG] = String(A["runs-at"] ?? (CASE === "echo" ? "500,5500" : "100,2100"))
  .split(",").map(Number);

function fail(msg: string): never {
  console.error(`instructions: ${msg}`);
  process.exit(2);
}

if (RUNTIME !== "deno") fail("run it under Deno (JavaScriptCore has no JIT under valgrind)");
if (CASE !== "resume" && CASE !== "echo") fail(`--case is resume or echo, not ${CASE}`);
if (!(SHORT > 0 && LONG > SHORT)) {
  fail(`--runs-at wants two counts, short then long: ${SHORT},${LONG}`);
}
try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" });
} catch {
  fail("valgrind is not installed (apt-get install valgrind)");
}

const denoExe: string = g.Deno.execPath();
const certs = makeCerts();

function caseArgs(impl: string, count: number): string[] {
  // --predictable: no background compiler or GC threads and no timing-driven GC heuristics,
  // so what one run counts does not depend on how valgrind schedules its threads.
  const args = ["run", "-A", "--unstable-net", "--v8-flags=--predictable", join(HERE, "case.ts")];
  args.push("--case", CASE);
  args.push("--impl", impl, "--certs", certs.dir, "--count", String(count));
  // No time-based warm-up: the short run is the warm-up, whatever the machine's speed.
  args.push(...(CASE === "echo" ? ["--warm", "0"] : ["--warm-ms", "0"]));
  if (typeof A.tls === "string") args.push("--tls", A.tls);
  return args;
}

/** Total instructions of one run, every thread of the process. */
function instructions(impl: string, count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "jsec-callgrind-"));
  const out = join(dir, "cg.out.%p");
  return new Promise<number>((resolve, reject) => {
    execFile(
      "valgrind",
      ["--tool=callgrind", `--callgrind-out-file=${out}`, denoExe, ...caseArgs(impl, count)],
      { maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        try {
          if (err || !/RESULT /.test(stdout)) {
            return reject(
              new Error(`${impl} ${count}: ${err?.message ?? ""}\n${stderr.slice(-2000)}`),
            );
          }
          let total = 0;
          for (const f of readdirSync(dir)) {
            const m = /^summary: (\d+)$/m.exec(readFileSync(join(dir, f), "utf8"));
            if (m) total += Number(m[1]);
          }
          resolve(total);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });
}

/** Two at a time (the box has two cores); each run is single-threaded under valgrind. */
async function inPairs<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += 2) {
    out.push(...await Promise.all(jobs.slice(i, i + 2).map((j) => j())));
  }
  return out;
}

try {
  // One plain run first, so that no measured run pays for transpiling the sources.
  execFileSync(denoExe, caseArgs(IMPLS[0], 1), { stdio: "ignore" });
  const tls = typeof A.tls === "string" ? ` ${A.tls}` : "";
  const deno = `Deno ${g.Deno.version.deno}`;
  console.log(`instructions per ${UNIT}: ${CASE}${tls}, ${deno}, runs at ${SHORT} and ${LONG}`);
  const jobs = IMPLS.flatMap((impl) => [SHORT, LONG].map((n) => () => instructions(impl, n)));
  const totals = await inPairs(jobs);
  const per = new Map<string, number>();
  IMPLS.forEach((impl, i) => per.set(impl, (totals[2 * i + 1] - totals[2 * i]) / (LONG - SHORT)));
  const floor = per.get("hand");
  for (const [impl, n] of per) {
    const vsFloor = floor && impl !== "hand" ? `  ${(n / floor).toFixed(3)}x the floor (hand)` : "";
    console.log(
      `  ${impl.padEnd(6)} ${Math.round(n).toLocaleString("en-US").padStart(12)}${vsFloor}`,
    );
  }
} finally {
  rmSync(certs.dir, { recursive: true, force: true });
}
