//! A pool of inference workers fed by one queue. Each worker owns one loaded model, so a model is
//! loaded once per worker at start, never per image; requests with the same input size that are
//! waiting together run as one batch.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::error::{EngineError, Result};
use crate::model::Inference;
use crate::pipeline::InputSize;

type Reply = Result<Vec<f32>>;

/// Most input pixels that run together in one batch. Batching helps small inputs and hurts
/// large ones, whose working memory no longer fits the caches: on two cores, batches of 4 ran
/// Tinct-mini at S = 256 1.16× as fast as one at a time, DDColor-tiny at S = 512 0.82× as fast
/// (docs/benchmarks.md). So S = 256 batches up to 4, S = 320 and 352 two, S = 384 and larger
/// run one at a time.
const BATCH_PIXELS: u64 = 4 * 256 * 256;

/// How many images of `size` may run together, within `max_batch`.
fn batch_limit(size: InputSize, max_batch: usize) -> usize {
    let pixels = u64::from(size.get()).pow(2).max(1);
    let by_pixels = usize::try_from(BATCH_PIXELS / pixels).unwrap_or(usize::MAX);
    max_batch.min(by_pixels).max(1)
}

struct Request {
    size: InputSize,
    input: Vec<f32>,
    reply: SyncSender<Reply>,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Request>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

pub struct InferencePool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl InferencePool {
    /// One worker thread per model instance; `max_batch` caps how many images run together.
    pub fn new(models: Vec<Arc<dyn Inference>>, max_batch: usize) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let workers = models
            .into_iter()
            .enumerate()
            .map(|(i, model)| {
                let shared = shared.clone();
                let limit = match model.contract().fixed_batch {
                    Some(fixed) => fixed.min(max_batch.max(1)),
                    None => max_batch.max(1),
                };
                let exact = model.contract().fixed_batch.is_some();
                std::thread::Builder::new()
                    .name(format!("inference-{i}"))
                    .spawn(move || work(&shared, model.as_ref(), limit, exact))
            })
            .filter_map(|spawned| match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "could not start an inference worker");
                    None
                }
            })
            .collect();
        InferencePool { shared, workers }
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Queues one image's input; the receiver yields its `[2, S, S]` output.
    pub fn submit(&self, size: InputSize, input: Vec<f32>) -> Result<Receiver<Reply>> {
        let (reply, receiver) = mpsc::sync_channel(1);
        let mut queue = self
            .shared
            .queue
            .lock()
            .map_err(|_| EngineError::PoolClosed)?;
        if queue.closed || self.workers.is_empty() {
            return Err(EngineError::PoolClosed);
        }
        queue.pending.push_back(Request { size, input, reply });
        drop(queue);
        self.shared.wake.notify_one();
        Ok(receiver)
    }

    /// Runs one image's input and waits for its output.
    pub fn infer(&self, size: InputSize, input: Vec<f32>) -> Result<Vec<f32>> {
        self.submit(size, input)?
            .recv()
            .map_err(|_| EngineError::PoolClosed)?
    }
}

impl Drop for InferencePool {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.closed = true;
        }
        self.shared.wake.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work(shared: &Shared, model: &dyn Inference, max_batch: usize, exact_batch: bool) {
    loop {
        let batch = {
            let Ok(mut queue) = shared.queue.lock() else {
                return;
            };
            while queue.pending.is_empty() && !queue.closed {
                queue = match shared.wake.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            let Some(first) = queue.pending.pop_front() else {
                return;
            };
            // Same-size requests already waiting join this run (a fixed-batch graph takes one).
            let take = match exact_batch {
                true => 0,
                false => batch_limit(first.size, max_batch) - 1,
            };
            let mut batch = vec![first];
            let mut i = 0;
            while batch.len() <= take && i < queue.pending.len() {
                if queue.pending[i].size == batch[0].size {
                    if let Some(req) = queue.pending.remove(i) {
                        batch.push(req);
                    }
                } else {
                    i += 1;
                }
            }
            batch
        };
        run_batch(model, batch);
    }
}

fn run_batch(model: &dyn Inference, batch: Vec<Request>) {
    let size = batch[0].size.get();
    let plane_out = 2 * (size * size) as usize;
    let joined: Vec<f32>;
    let input: &[f32] = if batch.len() == 1 {
        &batch[0].input
    } else {
        joined = batch.iter().flat_map(|r| r.input.iter().copied()).collect();
        &joined
    };
    match model.run(batch.len(), size, input) {
        Ok(output) => {
            for (request, ab) in batch.iter().zip(output.chunks_exact(plane_out)) {
                let _ = request.reply.send(Ok(ab.to_vec()));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for request in &batch {
                let _ = request
                    .reply
                    .send(Err(EngineError::Inference(message.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Contract;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Outputs a = first input value, b = batch size; counts runs.
    struct Echo {
        runs: AtomicUsize,
        delay: std::time::Duration,
    }

    impl Inference for Echo {
        fn run(&self, batch: usize, size: u32, input: &[f32]) -> Result<Vec<f32>> {
            std::thread::sleep(self.delay);
            self.runs.fetch_add(1, Ordering::SeqCst);
            let plane = (size * size) as usize;
            let mut out = Vec::with_capacity(batch * 2 * plane);
            for item in input.chunks_exact(3 * plane) {
                out.extend(std::iter::repeat_n(item[0], plane));
                out.extend(std::iter::repeat_n(batch as f32, plane));
            }
            Ok(out)
        }
        fn contract(&self) -> Contract {
            Contract::default()
        }
    }

    #[test]
    fn every_request_gets_its_own_answer_and_waiting_ones_are_batched() {
        let echo = Arc::new(Echo {
            runs: AtomicUsize::new(0),
            delay: std::time::Duration::from_millis(50),
        });
        let pool = InferencePool::new(vec![echo.clone()], 8);
        let size = InputSize::new(32).unwrap();
        let receivers: Vec<_> = (0..6)
            .map(|i| pool.submit(size, vec![i as f32; 3 * 32 * 32]).unwrap())
            .collect();
        for (i, rx) in receivers.into_iter().enumerate() {
            let out = rx.recv().unwrap().unwrap();
            assert_eq!(out.len(), 2 * 32 * 32);
            assert_eq!(out[0], i as f32, "request {i} got another request's output");
        }
        // The first request runs alone while the other five queue up behind it.
        assert!(echo.runs.load(Ordering::SeqCst) < 6, "nothing was batched");
    }

    #[test]
    fn large_inputs_run_one_at_a_time() {
        let echo = Arc::new(Echo {
            runs: AtomicUsize::new(0),
            delay: std::time::Duration::from_millis(20),
        });
        let pool = InferencePool::new(vec![echo.clone()], 8);
        let size = InputSize::new(512).unwrap();
        let receivers: Vec<_> = (0..3)
            .map(|_| pool.submit(size, vec![0.5; 3 * 512 * 512]).unwrap())
            .collect();
        for rx in receivers {
            let out = rx.recv().unwrap().unwrap();
            assert_eq!(out[512 * 512], 1.0, "a 512 px input ran in a batch");
        }
        assert_eq!(echo.runs.load(Ordering::SeqCst), 3);
        assert_eq!(batch_limit(InputSize::new(256).unwrap(), 8), 4);
        assert_eq!(batch_limit(InputSize::new(256).unwrap(), 2), 2);
        assert_eq!(batch_limit(InputSize::new(1024).unwrap(), 4), 1);
    }

    #[test]
    fn different_sizes_are_not_mixed() {
        let echo = Arc::new(Echo {
            runs: AtomicUsize::new(0),
            delay: std::time::Duration::from_millis(20),
        });
        let pool = InferencePool::new(vec![echo], 8);
        let small = InputSize::new(32).unwrap();
        let large = InputSize::new(64).unwrap();
        let a = pool.submit(small, vec![1.0; 3 * 32 * 32]).unwrap();
        let b = pool.submit(large, vec![2.0; 3 * 64 * 64]).unwrap();
        assert_eq!(a.recv().unwrap().unwrap().len(), 2 * 32 * 32);
        assert_eq!(b.recv().unwrap().unwrap().len(), 2 * 64 * 64);
    }
}
