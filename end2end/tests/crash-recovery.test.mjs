// The queue is durable: jobs accepted before a crash (SIGKILL while one runs) are finished after
// a restart, each exactly once, with its result on disk.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { startServer } from '../support/harness.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A grey `width` × `height` PNG (a gradient): large enough to take a while to colorize. */
function greyPng(width, height) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows[y * (width + 1) + 1 + x] = (x + y) & 0xff;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function jobsOf(server, batch) {
  const response = await server.fetch(`${server.url}/api/v1/jobs?batch=${batch}`);
  assert.equal(response.status, 200);
  return response.json();
}

test('jobs interrupted by SIGKILL finish after a restart, each exactly once', async () => {
  const env = { TINCT_JOB_WORKERS: '1' };
  let server = await startServer({ env });
  const { dataDir } = server;
  try {
    const form = new FormData();
    // 24 MP: slow enough on the CPU to be killed mid-job, whatever input size the model runs at.
    const scan = greyPng(6000, 4000);
    for (let i = 0; i < 4; i++) form.append('images', new Blob([scan], { type: 'image/png' }), `scan-${i}.png`);
    const response = await server.fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    const { batch_id: batch, files } = await response.json();
    assert.equal(files.filter((f) => f.accepted).length, 4);

    // Kill the server while a job runs.
    const deadline = Date.now() + 60_000;
    while (!(await jobsOf(server, batch)).some((job) => job.status === 'running')) {
      assert.ok(Date.now() < deadline, 'no job started');
      await sleep(20);
    }
    await server.stop({ signal: 'SIGKILL', keepData: true });

    server = await startServer({ dataDir, env });
    let jobs;
    for (;;) {
      jobs = await jobsOf(server, batch);
      if (jobs.every((job) => job.status === 'done')) break;
      assert.ok(jobs.every((job) => ['queued', 'running', 'done'].includes(job.status)), JSON.stringify(jobs));
      assert.ok(Date.now() < deadline + 120_000, `jobs did not finish: ${JSON.stringify(jobs)}`);
      await sleep(100);
    }
    assert.equal(jobs.length, 4);
    // Only the job that was running when the server died ran a second time.
    const attempts = jobs.map((job) => job.attempts).sort();
    assert.deepEqual(attempts, [1, 1, 1, 2], JSON.stringify(jobs));
    for (const job of jobs) {
      const result = await server.fetch(`${server.url}/api/v1/jobs/${job.id}/result`);
      assert.equal(result.status, 200);
      assert.equal(result.headers.get('content-type'), 'image/png');
      assert.ok((await result.arrayBuffer()).byteLength > 1000);
    }
  } finally {
    await server.stop({ keepData: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
