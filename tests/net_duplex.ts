/** A node:net socket as a Web Streams Duplex, for STARTTLS tests in both runtimes. */
import type { Socket } from "node:net";
import type { Duplex } from "../mod.ts";

/** Wraps `sock`; the readable ends at the peer's FIN, closing the writable ends ours. */
export function duplexFromSocket(sock: Socket): Duplex {
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      // After a cancel the socket may still emit: a closed controller ignores it.
      const guard = (f: () => void) => () => {
        try {
          f();
        } catch { /* already closed */ }
      };
      sock.on("data", (d: Uint8Array) => guard(() => c.enqueue(new Uint8Array(d)))());
      sock.on("end", guard(() => c.close()));
      sock.on("error", (e: Error) => guard(() => c.error(e))());
    },
    cancel() {
      sock.destroy();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise((res, rej) => sock.write(chunk, (e?: Error | null) => (e ? rej(e) : res()))),
    close: () => new Promise<void>((res) => sock.end(res)),
    abort: () => {
      sock.destroy();
    },
  });
  return { readable, writable };
}
