// OCSP stapling: jsec client ↔ openssl s_server -status_file, jsec server ↔ openssl s_client
// -status, jsec ↔ jsec (static bytes and a per-handshake callback), parseOcspResponse on
// responses made by `openssl ocsp`, and UNSUPPORTED on mbedTLS 2.28.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backendInfo, connect, createContext } from "../mod.ts";
import { parseOcspResponse } from "../crypto/mod.ts";
import {
  BACKEND,
  localServer as server,
  opensslServer,
  pki,
  startPeer,
  tempDir,
} from "./helpers.ts";

const p = pki();
const OCSP = BACKEND === "openssl";
const onlyOpenSsl = { skip: OCSP ? false : "mbedTLS 2.28 has no OCSP stapling" };

/** Responses for the server certificate made by `openssl ocsp` from an index.txt CA db. */
function makeResponses(): { good: Uint8Array; revoked: Uint8Array; serial: string } {
  const dir = tempDir();
  const serial = execFileSync("openssl", ["x509", "-in", p.server.certFile, "-noout", "-serial"])
    .toString().trim().split("=")[1].toUpperCase();
  const respond = (name: string, line: string): Uint8Array => {
    writeFileSync(join(dir, `${name}.txt`), line + "\n");
    execFileSync("openssl", [
      "ocsp",
      "-index",
      join(dir, `${name}.txt`),
      "-rsigner",
      p.ca.certFile,
      "-rkey",
      p.ca.keyFile,
      "-CA",
      p.ca.certFile,
      "-issuer",
      p.ca.certFile,
      "-cert",
      p.server.certFile,
      "-respout",
      join(dir, `${name}.der`),
      "-ndays",
      "1",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    return new Uint8Array(readFileSync(join(dir, `${name}.der`)));
  };
  const subject = "/CN=localhost";
  return {
    serial,
    good: respond("good", `V\t301231000000Z\t\t${serial}\tunknown\t${subject}`),
    revoked: respond(
      "revoked",
      `R\t301231000000Z\t240101000000Z,keyCompromise\t${serial}\tunknown\t${subject}`,
    ),
  };
}

const r = makeResponses();
const goodFile = join(tempDir(), "good.der");
writeFileSync(goodFile, r.good);

/** A jsec client's view of a jsec server with `serverExtra`; returns the client's info. */
async function stapled(serverExtra: Record<string, unknown>, clientExtra = {}) {
  using s = server(serverExtra);
  const [c, sc] = await Promise.all([
    connect({
      hostname: "localhost",
      port: s.addr.port,
      caCerts: [p.ca.cert],
      backend: BACKEND,
      ...clientExtra,
    }),
    s.accept(),
  ]);
  try {
    return c.info;
  } finally {
    await c.close();
    await sc.close();
  }
}

test("parseOcspResponse: good and revoked responses from `openssl ocsp`", () => {
  const good = parseOcspResponse(r.good);
  assert.equal(good.status, "successful");
  if (good.status !== "successful") return;
  assert.equal(good.certStatus, "good");
  assert.equal(good.serial, r.serial);
  assert.ok(good.thisUpdate instanceof Date);
  assert.ok(Math.abs(good.thisUpdate.getTime() - Date.now()) < 3_600_000);
  assert.ok(good.nextUpdate instanceof Date);
  // -ndays 1
  assert.equal(Math.round((good.nextUpdate!.getTime() - good.thisUpdate.getTime()) / 3.6e6), 24);
  assert.equal(good.revokedAt, undefined);
  assert.equal(good.responses.length, 1);
  assert.ok(good.producedAt instanceof Date);

  const revoked = parseOcspResponse(r.revoked);
  assert.equal(revoked.status, "successful");
  if (revoked.status !== "successful") return;
  assert.equal(revoked.certStatus, "revoked");
  assert.equal(revoked.revokedAt?.toISOString(), "2024-01-01T00:00:00.000Z");
  assert.equal(revoked.revocationReason, 1); // keyCompromise
  assert.equal(revoked.serial, r.serial);
});

test("parseOcspResponse: error statuses and malformed input", () => {
  // OCSPResponse { responseStatus tryLater(3) } without responseBytes
  assert.deepEqual(parseOcspResponse(Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x03)), {
    status: "tryLater",
  });
  assert.deepEqual(parseOcspResponse(Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x06)), {
    status: "unauthorized",
  });
  assert.throws(() => parseOcspResponse(Uint8Array.of(1, 2, 3)), {
    name: "CryptoError",
    code: "BAD_FORMAT",
  });
  assert.throws(() => parseOcspResponse(r.good.subarray(0, r.good.length - 10)), {
    code: "BAD_FORMAT",
  });
  assert.throws(() => parseOcspResponse("x" as unknown as Uint8Array), {
    code: "INVALID_ARGUMENT",
  });
});

test("jsec client ↔ openssl s_server -status_file: the staple arrives", onlyOpenSsl, async () => {
  const { peer, port } = await opensslServer([
    "-cert",
    p.server.certFile,
    "-key",
    p.server.keyFile,
    "-status_file",
    goodFile,
  ]);
  try {
    for (const maxVersion of ["TLS1.2", "TLS1.3"] as const) {
      const c = await connect({
        hostname: "localhost",
        port,
        caCerts: [p.ca.cert],
        requestOcsp: true,
        maxVersion,
        backend: BACKEND,
      });
      try {
        assert.deepEqual(c.info.ocspResponse, r.good, maxVersion);
        const parsed = parseOcspResponse(c.info.ocspResponse!);
        assert.equal(parsed.status === "successful" && parsed.certStatus, "good");
        assert.equal(c.info.peerCertificate?.serial, r.serial);
      } finally {
        await c.close();
      }
    }
  } finally {
    await peer.stop();
  }
});

test("jsec server ↔ openssl s_client -status: the response is stapled", onlyOpenSsl, async () => {
  using s = server({ ocspResponse: r.good });
  const accepted = s.accept();
  const client = startPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${s.addr.port}`,
    "-servername",
    "localhost",
    "-status",
  ]);
  try {
    await client.waitFor(/OCSP Response Status: successful/);
    await client.waitFor(/Cert Status: good/);
    const sc = await accepted;
    await sc.close();
  } finally {
    await client.stop();
  }
});

test(
  "jsec ↔ jsec: static staple, per-handshake callback, revoked status",
  onlyOpenSsl,
  async () => {
    const info = await stapled({ ocspResponse: r.good }, { requestOcsp: true });
    assert.deepEqual(info.ocspResponse, r.good);

    let calls = 0;
    const fresh = () => (++calls, r.revoked);
    using s = server({ ocspResponse: fresh });
    for (let i = 0; i < 2; i++) {
      const [c, sc] = await Promise.all([
        connect({
          hostname: "localhost",
          port: s.addr.port,
          caCerts: [p.ca.cert],
          requestOcsp: true,
          maxVersion: i === 0 ? "TLS1.2" : "TLS1.3",
          backend: BACKEND,
        }),
        s.accept(),
      ]);
      try {
        const parsed = parseOcspResponse(c.info.ocspResponse!);
        assert.equal(parsed.status, "successful");
        assert.equal(parsed.status === "successful" && parsed.certStatus, "revoked");
      } finally {
        await c.close();
        await sc.close();
      }
    }
    assert.equal(calls, 2); // once per handshake
  },
);

test(
  "a provider's response whose length lies is stapled at its real length",
  onlyOpenSsl,
  async () => {
    const lying = () => {
      const der = r.good.slice();
      Object.defineProperty(der, "length", { value: der.length + 4096 }); // C must not read past it
      return der;
    };
    const info = await stapled({ ocspResponse: lying }, { requestOcsp: true });
    assert.deepEqual(info.ocspResponse, r.good);
  },
);

test("no staple: client did not ask, provider returns null or throws", onlyOpenSsl, async () => {
  assert.equal((await stapled({ ocspResponse: r.good })).ocspResponse, null);
  assert.equal((await stapled({}, { requestOcsp: true })).ocspResponse, null);
  assert.equal(
    (await stapled({ ocspResponse: () => null }, { requestOcsp: true })).ocspResponse,
    null,
  );
  const throwing = () => {
    throw new Error("responder down");
  };
  const info = await stapled({ ocspResponse: throwing }, { requestOcsp: true });
  assert.equal(info.ocspResponse, null);
  assert.equal(info.peerCertificate?.commonName, "localhost"); // the handshake went on
});

test("ocspResponse and requestOcsp are validated", () => {
  const base = { server: true as const, cert: p.server.cert, key: p.server.key, backend: BACKEND };
  for (const bad of ["der", 42, new Uint8Array(0)]) {
    assert.throws(
      () => createContext({ ...base, ocspResponse: bad as Uint8Array }),
      { name: "TlsError", code: "INVALID_OPTION", option: "ocspResponse" },
    );
  }
  assert.throws(
    () => createContext({ backend: BACKEND, requestOcsp: "yes" as unknown as boolean }),
    { code: "INVALID_OPTION", option: "requestOcsp" },
  );
});

test("mbedTLS 2.28: OCSP options are UNSUPPORTED", { skip: OCSP }, () => {
  assert.equal(backendInfo(BACKEND).capabilities.ocsp, false);
  const version = backendInfo(BACKEND).version.replace(/^mbed TLS /i, "");
  for (
    const [option, options] of [
      ["ocspResponse", {
        server: true,
        cert: p.server.cert,
        key: p.server.key,
        ocspResponse: r.good,
      }],
      ["requestOcsp", { requestOcsp: true }],
    ] as const
  ) {
    assert.throws(() => createContext({ ...options, backend: BACKEND } as never), (e: Error) => {
      assert.equal((e as { code?: string }).code, "UNSUPPORTED");
      assert.equal((e as { option?: string }).option, option);
      assert.match(e.message, /mbedtls/);
      assert.ok(e.message.includes(version), e.message);
      return true;
    });
  }
});
