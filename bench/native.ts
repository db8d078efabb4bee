/**
 * The C anchors of the bench: `openssl s_time` against `openssl s_server`
 * (the handshake ceiling of the same libssl), and the engine-to-engine loops
 * in `bench/c/`, compiled here when a C compiler exists.
 */

import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Any, Sample } from "./common.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------
// openssl s_server / s_time: the handshake ceiling of the same libssl in C.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as Any).port;
      s.close(() => resolve(port));
    });
  });
}

/** CPU time (user + system) of a running process, in µs (Linux /proc; null elsewhere). */
function procCpuMicros(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // from field 3 (state) on
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
    return Number.isFinite(ticks) ? ticks * 1e4 : null; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** The children's CPU time (user + system) from the last line `times` printed, in µs. */
function timesMicros(out: string): number | null {
  const m = out.match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/);
  if (!m) return null;
  return 1e6 * (60 * Number(m[1]) + Number(m[2]) + 60 * Number(m[3]) + Number(m[4]));
}

export async function sTime(
  certFile: string,
  keyFile: string,
  mode: "-new" | "-reuse",
  extra: string[],
  seconds: number,
): Promise<Sample> {
  const port = await freePort();
  const server = spawn("openssl", [
    "s_server",
    "-cert",
    certFile,
    "-key",
    keyFile,
    "-accept",
    `127.0.0.1:${port}`,
    "-quiet",
    "-naccept",
    "10000000",
    ...extra,
  ], { stdio: ["ignore", "ignore", "ignore"] });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const s = await new Promise<{ out: string; ms: number }>((resolve) => {
      // `times` after s_time prints the client's CPU time (its last line).
      const c = spawn("sh", [
        "-c",
        'openssl s_time "$@"; times',
        "sh",
        "-connect",
        `127.0.0.1:${port}`,
        mode,
        "-time",
        String(seconds),
        ...extra,
      ], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      c.stdout.on("data", (d: Uint8Array) => (out += d));
      c.stderr.on("data", (d: Uint8Array) => (out += d));
      c.on("close", () => resolve({ out, ms: performance.now() - t0 }));
    });
    // "N connections in T real seconds": T is whole seconds, so divide by our own wall clock.
    const m = [...s.out.matchAll(/(\d+) connections in \d+ real seconds/g)].pop();
    if (!m) return { value: NaN, unit: "", error: `s_time: ${s.out.slice(-300)}` };
    const reusedMarks = (s.out.match(/r/g) ?? []).length; // s_time prints 'r' per resumed connection
    const conns = Number(m[1]);
    const clientCpu = timesMicros(s.out);
    const serverCpu = procCpuMicros(server.pid);
    return {
      value: conns / (s.ms / 1000),
      unit: "hs/s",
      conns,
      reused: mode === "-reuse" ? reusedMarks > 10 : undefined,
      ...(clientCpu !== null && serverCpu !== null
        ? { cpuUsPerConn: (clientCpu + serverCpu) / conns }
        : {}),
    };
  } finally {
    server.kill("SIGTERM");
  }
}

// ---------------------------------------------------------------------------
// The C loops (engine to engine in memory), compiled here if a compiler exists.

export function compile(
  src: string,
  out: string,
  libs: string[],
  log: (line: string) => void,
): string | null {
  try {
    execFileSync("cc", ["-O2", "-o", out, join(HERE, "c", src), ...libs], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    return out;
  } catch (e) {
    log(`  (could not compile ${src}: ${String((e as Error).message).split("\n")[0]})`);
    return null;
  }
}
