// The queue is durable: jobs accepted before a crash (SIGKILL while one runs) are finished after
// a restart, each exactly once, with its result on disk.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot, startServer } from '../support/harness.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
    form.append('size', '1024'); // slow enough on the CPU to be killed mid-job
    const scan = readFileSync(path.join(repoRoot, 'engine/tests/data/reference_input.png'));
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
