/**
 * In-process A/B of revisions. This box's speed drifts by up to half between
 * minutes, so two processes run one after the other can differ by more than
 * the change being measured. Here every side runs in one process: each
 * revision's `bench/cases` is loaded from its own tree, warmed up, and then the
 * sides take turns, one batch each per round, in a rotating order. Each side's
 * rate against the first is taken round by round, where the drift is shared,
 * and the median of those ratios is printed. Copies of one revision (`--revs
 * X,X,X`, TLS 1.2 resumption, 100 rounds of 100) came within 2% of each other
 * on Deno and within 2–5% on Bun, where the first side ran 1–2% slow in most
 * runs: list the base twice (`--revs base,new,base`) to see the spread.
 *
 *   deno run -A --unstable-net bench/ab.ts --revs 8c2adfe,. [--impls jsec,hand]
 *        [--case resume|hs|echo|dtls] [--tls TLS1.2] [--rounds 100] [--batch 100]
 *   bun bench/ab.ts --revs 8c2adfe,. ...
 *
 * `.` is the working tree; any other revision is extracted with `git archive`
 * and must already have the `__jsecBenchAB` hook (`bench/cases/args.ts`).
 * `--impls` takes `jsec` and `hand` (the floor: resume and echo), or
 * `streams` (jsec through its Web Streams, which a tree's cases load instead of
 * `jsec`: not both in one run). `--case dtls` (the 1 KiB DTLS echo) runs
 * `jsec` only. `--tls`,
 * `--suite`, `--backend`, `--key` and `--size` reach the cases as they would
 * from `bench/case.ts`. Timings only: nothing here asserts anything.
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { argv, g, makeCerts, parseArgs, RUNTIME } from "./common.ts";
import type { Batch } from "./cases/args.ts";

const A = parseArgs(argv());
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CASE = String(A.case ?? "resume");
const REVS = String(A.revs ?? ".").split(",");
const IMPLS = String(A.impls ?? "jsec").split(",");
const ROUNDS = Number(A.rounds ?? 100);
const ROUND_TRIPS = CASE === "echo" || CASE === "dtls";
const BATCH = Number(A.batch ?? (ROUND_TRIPS ? 1000 : 100));
const UNIT = ROUND_TRIPS ? "round trip" : "connection";

function fail(msg: string): never {
  console.error(`ab: ${msg}`);
  process.exit(2);
}

if (!["resume", "hs", "echo", "dtls"].includes(CASE)) {
  fail(`--case is resume, hs, echo or dtls, not ${CASE}`);
}
for (const impl of IMPLS) {
  if (!["jsec", "streams", "hand"].includes(impl)) {
    fail(`--impls takes jsec, streams and hand, not ${impl}`);
  }
  if (CASE === "dtls" && impl !== "jsec") fail("--case dtls runs jsec only");
  if (impl === "hand" && CASE === "hs") {
    fail("the hand-driven floor is measured for resume and echo");
  }
}
if (IMPLS.includes("jsec") && IMPLS.includes("streams")) {
  fail("--impls takes jsec or streams, not both: a tree's cases load one of them");
}
if (!(ROUNDS > 0 && BATCH > 0)) fail("--rounds and --batch want positive numbers");

// The cases read their options from the command line when they load.
const certs = makeCerts();
const passed = ["tls", "suite", "backend", "key", "size"].flatMap((k) =>
  typeof A[k] === "string" ? [`--${k}`, A[k] as string] : []
);
const jsecImpl = IMPLS.includes("streams") ? "jsec-streams" : "jsec";
g.__jsecBenchArgv = ["--case", CASE, "--impl", jsecImpl, "--certs", certs.dir, ...passed];

const scratch = mkdtempSync(join(tmpdir(), "jsec-ab-"));
function treeOf(rev: string, i: number): string {
  if (rev === ".") return ROOT;
  const dir = join(scratch, String(i));
  mkdirSync(dir);
  try {
    execFileSync("sh", ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "sh", ROOT, rev, dir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (e) {
    fail(`cannot extract ${rev}: ${String((e as Error).message).split("\n")[0]}`);
  }
  return dir;
}

/** Starts one side's case; it comes back through the hook once warm. */
async function startCase(tree: string, impl: string): Promise<unknown> {
  const load = (f: string) => import(pathToFileURL(join(tree, "bench", "cases", f)).href);
  const size = Number(A.size ?? 1024);
  if (CASE === "dtls") return (await load("engine.ts")).dtlsEcho(500, BATCH, size);
  if (impl === "hand") {
    const hand = await load("hand.ts");
    return CASE === "echo" ? hand.handEcho(500, BATCH, size) : hand.handResume(BATCH);
  }
  const pull = await load("pull.ts");
  const conn = await pull.pullImpl();
  return CASE === "echo"
    ? pull.pullEcho(conn, 500, BATCH, size)
    : pull.pullHandshakes(conn, BATCH, CASE === "resume");
}

interface Side {
  label: string;
  run: Batch;
  release: () => void;
  finished: Promise<unknown>;
  us: number[];
}

let arrive: ((s: { run: Batch; release: () => void }) => void) | null = null;
g.__jsecBenchAB = (run: Batch) => new Promise<void>((release) => arrive!({ run, release }));

const sides: Side[] = [];
for (const [i, rev] of REVS.entries()) {
  const tree = treeOf(rev, i);
  for (const impl of IMPLS) {
    const label = `${rev} ${impl}`;
    let warmed = false;
    const warm = new Promise<{ run: Batch; release: () => void }>((r) => (arrive = r));
    const finished = startCase(tree, impl).then(
      () => warmed || fail(`${label}: the case ended before its timed part`),
      (e) => fail(`${label}: ${(e as Error)?.stack ?? e}`),
    );
    const got = await Promise.race([warm, finished as Promise<never>]);
    warmed = true;
    sides.push({ label, ...got, finished, us: [] });
  }
}

for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < sides.length; j++) {
    const side = sides[(j + r) % sides.length];
    const t0 = performance.now();
    await side.run(BATCH);
    side.us.push(((performance.now() - t0) * 1000) / BATCH);
  }
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const at = (a: number[], q: number) => sorted(a)[Math.min(a.length - 1, Math.floor(q * a.length))];
console.log(
  `${CASE}${A.tls ? ` ${A.tls}` : ""}, ${RUNTIME}, ${ROUNDS} rounds of ${BATCH}: µs per ${UNIT}, ` +
    `and the rate against "${sides[0].label}" round by round (median, quartiles)`,
);
for (const s of sides) {
  const ratios = s.us.map((us, r) => sides[0].us[r] / us);
  console.log(
    `  ${s.label.padEnd(28)} ${at(s.us, 0.5).toFixed(1).padStart(8)} µs   ` +
      `${at(ratios, 0.5).toFixed(3)}x (${at(ratios, 0.25).toFixed(3)}–${
        at(ratios, 0.75).toFixed(3)
      })`,
  );
}

for (const s of sides) s.release();
await Promise.all(sides.map((s) => s.finished));
rmSync(scratch, { recursive: true, force: true });
rmSync(certs.dir, { recursive: true, force: true });
process.exit(0);
