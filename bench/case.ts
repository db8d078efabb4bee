/**
 * One benchmark case in this process, both ends on loopback. Started by
 * bench.ts as `<runtime> bench/case.ts --case C --impl I [--key ecdsa|rsa]
 * [--backend B] [--suite S] --certs DIR [sizes]`; prints one line `RESULT {json}`.
 *
 * impl: jsec (this library, read()/write()), jsec-streams (bulk and echo: jsec through
 * its Web Streams), native (Deno.listenTls/connectTls or Bun.listen/connect with tls),
 * node (node:tls), raw (plain TCP of the runtime), hand (bulk, echo and resume: jsec's
 * engines moved by hand over raw sockets). The cases live in `cases/`, one file per family.
 */

import { type Any, g, RUNTIME } from "./common.ts";
import { BACKEND, CASE, IMPL, MIB, num, result } from "./cases/args.ts";
import { pullBulk, pullEcho, pullHandshakes, pullIdle, pullImpl } from "./cases/pull.ts";
import { nodeBulk, nodeEcho, nodeHandshakes, nodeIdle } from "./cases/node.ts";
import { bunBulk, bunEcho, bunHandshakes, bunIdle } from "./cases/bun.ts";
import { dtlsEcho, engineLoop } from "./cases/engine.ts";
import { handBulk, handEcho, handResume } from "./cases/hand.ts";

async function main(): Promise<void> {
  if (IMPL === "jsec" && BACKEND) {
    const { backendInfo } = await import("../mod.ts");
    try {
      backendInfo(BACKEND as Any);
    } catch (e) {
      result(NaN, "", {
        skipped: `backend ${BACKEND} unavailable: ${(e as Error).message.split("\n")[0]}`,
      });
      return;
    }
  }
  const pull = await pullImpl();
  const bunSock = RUNTIME === "bun" && (IMPL === "native" || IMPL === "raw");
  const bunTls = IMPL === "native";
  switch (CASE) {
    case "bulk": {
      const mib = num("mib", 256), warm = num("warm", 32);
      const ms = IMPL === "hand"
        ? await handBulk(warm * MIB, mib * MIB)
        : pull
        ? await pullBulk(pull, warm * MIB, mib * MIB)
        : bunSock
        ? await bunBulk(bunTls, warm * MIB, mib * MIB)
        : await nodeBulk(warm * MIB, mib * MIB);
      result((mib * MIB) / 1e6 / (ms / 1000), "MB/s", { ms });
      return;
    }
    case "echo": {
      const count = num("count", 10_000), warm = num("warm", 500), size = num("size", 1024);
      const ms = IMPL === "hand"
        ? await handEcho(warm, count, size)
        : pull
        ? await pullEcho(pull, warm, count, size)
        : bunSock
        ? await bunEcho(bunTls, warm, count, size)
        : await nodeEcho(warm, count, size);
      result(count / (ms / 1000), "rt/s", { ms });
      return;
    }
    case "hs":
    case "resume": {
      const count = num("count", 300);
      const resume = CASE === "resume";
      if (resume && RUNTIME === "deno" && IMPL === "native") {
        result(NaN, "", { skipped: "Deno.connectTls has no session resumption API" });
        return;
      }
      if (resume && IMPL === "raw") {
        result(NaN, "", { skipped: "no TLS" });
        return;
      }
      // --rounds: one-byte round trips per connection (raw TCP shaped like a TLS exchange).
      const rounds = num("rounds", 1);
      if (rounds !== 1 && !(pull || bunSock)) {
        result(NaN, "", { skipped: "--rounds is for jsec, raw and native sockets" });
        return;
      }
      if (IMPL === "hand" && !resume) {
        result(NaN, "", { skipped: "the hand-driven floor is measured for bulk, echo and resume" });
        return;
      }
      const r = IMPL === "hand"
        ? await handResume(count)
        : pull
        ? await pullHandshakes(pull, count, resume, rounds)
        : bunSock
        ? await bunHandshakes(bunTls, count, resume, rounds)
        : await nodeHandshakes(count, resume);
      const cpuUs = (r as { cpuUs?: number }).cpuUs;
      result(count / (r.ms / 1000), "hs/s", {
        ms: r.ms,
        ...(resume ? { lastReused: r.reused === 1 } : {}),
        // Both ends run in this process: CPU per connection compares with s_time's two processes.
        ...(cpuUs !== undefined ? { cpuUsPerConn: cpuUs / count } : {}),
      });
      return;
    }
    case "idle": {
      const count = num("count", 1000);
      const per = pull
        ? await pullIdle(pull, count)
        : bunSock
        ? await bunIdle(bunTls, count)
        : await nodeIdle(count);
      result(per, "B/conn");
      return;
    }
    case "loop": {
      const mib = num("mib", 256), warm = num("warm", 32);
      const ms = await engineLoop(warm * MIB, mib * MIB);
      result((mib * MIB) / 1e6 / (ms / 1000), "MB/s", { ms });
      return;
    }
    case "dtls": {
      const count = num("count", 10_000), warm = num("warm", 500), size = num("size", 1024);
      const r = await dtlsEcho(warm, count, size);
      if (typeof r === "string") result(NaN, "", { skipped: r });
      else result(count / (r / 1000), "rt/s", { ms: r });
      return;
    }
  }
  throw new Error(`unknown case ${CASE}`);
}

const watchdog = setTimeout(() => {
  console.error(`case ${CASE}/${IMPL} timed out`);
  g.process?.exit?.(3);
}, num("timeout", 300) * 1000);
try {
  await main();
} catch (e) {
  result(NaN, "", { error: String((e as Error)?.stack ?? e).slice(0, 500) });
}
clearTimeout(watchdog);
// Anything left (sockets in TIME_WAIT handlers, listeners) must not keep us alive.
g.process?.exit?.(0);
