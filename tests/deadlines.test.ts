// The shared handshake-deadline timer: order, cancellation, re-arming, and that
// an idle timer lets the process exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addDeadline, cancelDeadline, type Deadline } from "../streams/deadlines.ts";
import { childCommand } from "./helpers.ts";

test("deadlines fire in deadline order, whatever the order they were added in", async () => {
  const fired: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => done = r);
  const note = (name: string) => () => {
    fired.push(name);
    if (fired.length === 3) done();
  };
  addDeadline(60, note("60"));
  addDeadline(5, note("5")); // earlier than the armed timer: re-arms it
  addDeadline(30, note("30"));
  await all;
  assert.deepEqual(fired, ["5", "30", "60"]);
});

test("a cancelled deadline never fires; cancelling twice or after firing does nothing", async () => {
  const fired: string[] = [];
  const cancelled = addDeadline(10, () => fired.push("cancelled"));
  cancelDeadline(cancelled);
  const kept = await new Promise<Deadline>((resolve) => {
    const d = addDeadline(30, () => {
      fired.push("kept");
      resolve(d);
    });
  });
  cancelDeadline(cancelled);
  cancelDeadline(kept);
  // The cancelled one was due before the kept one: had it fired, it would be listed first.
  assert.deepEqual(fired, ["kept"]);
});

test("a deadline whose callback throws does not stop the others", async () => {
  const fired = await new Promise<string[]>((resolve) => {
    const seen: string[] = [];
    addDeadline(5, () => {
      seen.push("throws");
      throw new Error("boom");
    });
    addDeadline(5, () => {
      seen.push("next");
      resolve(seen);
    });
  });
  assert.deepEqual(fired, ["throws", "next"]);
});

test("the shared timer does not keep the process alive once no deadline that keeps it is pending", async () => {
  // A child adds two far deadlines and cancels them, then adds one that does not keep the
  // process alive; it must exit at once, not in two minutes.
  const dir = mkdtempSync(join(tmpdir(), "jsec-deadlines-"));
  const script = join(dir, "child.ts");
  const module = new URL("../streams/deadlines.ts", import.meta.url).href;
  writeFileSync(
    script,
    `import { addDeadline, cancelDeadline } from ${JSON.stringify(module)};
cancelDeadline(addDeadline(120_000, () => {}));
cancelDeadline(addDeadline(120_000, () => {}));
addDeadline(120_000, () => {}, false); // pending, but it does not keep the process alive
console.log("exiting");
`,
  );
  const [exe, args] = childCommand(script);
  try {
    const { code, out } = await new Promise<{ code: unknown; out: string }>((resolve) => {
      execFile(exe, args, { timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (err.killed ? "killed" : err.code) : 0, out: stdout + stderr });
      });
    });
    assert.equal(code, 0, out);
    assert.match(out, /exiting/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a deadline that does not keep the process alive still fires while something else does", async () => {
  const keepAlive = setTimeout(() => {}, 10_000); // what a pending socket write is for close()
  try {
    const fired: string[] = [];
    await new Promise<void>((resolve) => {
      addDeadline(5, () => {
        fired.push("weak");
        resolve();
      }, false);
      cancelDeadline(addDeadline(1, () => fired.push("cancelled")));
    });
    assert.deepEqual(fired, ["weak"]);
  } finally {
    clearTimeout(keepAlive);
  }
});
