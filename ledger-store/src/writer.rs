//! Group commit for drawdown writes.
//!
//! Every write takes the ledger's write lock (the hash chain has one head), and a durable commit
//! costs a disk flush (≈ 2 ms here), so writers one transaction each topped out at a few hundred
//! a second. Instead a write joins a queue; whoever gets the write lock next takes everything
//! queued (up to [`MAX_BATCH`]) and writes it in one transaction, then commits once and answers
//! each. A write is answered only after its commit, and each write sees the ones queued before
//! it, so repeating a transition still finds it done.
//!
//! A write refused by a rule is refused before it writes anything, so it needs nothing undone
//! and the others go on. A write that fails in the database (a constraint, a trigger, a broken
//! connection) may have written half of itself: the batch is rolled back and written again
//! without it. That is rare, so the common batch pays for no savepoints (one round trip per
//! write, and on PostgreSQL a subtransaction each, which was what they cost).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::{oneshot, OwnedMutexGuard};

use crate::drawdown::{Change, WriteOp};
use crate::{Store, StoreError, Tx};

/// The most writes committed together: bounds how long the first of them waits.
const MAX_BATCH: usize = 64;

type Answer = Result<Change, StoreError>;

struct Job {
    id: u64,
    op: WriteOp,
    done: oneshot::Sender<Answer>,
}

/// Writes waiting for the next batch.
#[derive(Default)]
pub(crate) struct WriteQueue {
    jobs: Mutex<Vec<Job>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue").field("queued", &self.jobs.lock().map_or(0, |j| j.len())).finish()
    }
}

impl WriteQueue {
    fn push(&self, op: WriteOp, done: oneshot::Sender<Answer>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.jobs.lock().expect("write queue lock").push(Job { id, op, done });
        id
    }

    fn take(&self) -> Vec<Job> {
        let mut jobs = self.jobs.lock().expect("write queue lock");
        let n = jobs.len().min(MAX_BATCH);
        jobs.drain(..n).collect()
    }
}

/// Takes a write back out of the queue if its caller gives up before a batch took it, so that
/// an abandoned request is not carried out later by a stranger's batch.
struct Unqueue<'a> {
    queue: &'a WriteQueue,
    id: u64,
}

impl Drop for Unqueue<'_> {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.queue.jobs.lock() {
            jobs.retain(|job| job.id != self.id);
        }
    }
}

impl Store {
    /// Queues one write and returns its answer once the batch that carried it has committed.
    pub(crate) async fn write(&self, op: WriteOp) -> Answer {
        let (done, mut answer) = oneshot::channel();
        let _unqueue = Unqueue { queue: &self.queue, id: self.queue.push(op, done) };
        loop {
            // Wait for the answer or for the write lock, whichever comes first: a batch led by
            // someone else may carry this write, and its caller must not then queue for the
            // lock only to find nothing left to do.
            let turn = tokio::select! {
                biased;
                result = &mut answer => {
                    return result.unwrap_or_else(|_| {
                        Err(StoreError::NotWritten("the batch carrying this write failed".to_owned()))
                    })
                }
                turn = self.writers.clone().lock_owned() => turn,
            };
            let jobs = self.queue.take();
            if !jobs.is_empty() {
                // The batch runs as its own task: a caller that goes away mid-batch (a closed
                // HTTP connection) must not cut the other callers' writes short.
                tokio::spawn(self.clone().write_batch(jobs, turn));
            }
        }
    }

    /// Boxed so that the spawned task is provably `Send` (the compiler cannot see through the
    /// nested database futures); `_turn` is the write lock, held until the batch has answered.
    fn write_batch(self, jobs: Vec<Job>, turn: OwnedMutexGuard<()>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            self.write_jobs(jobs).await;
            drop(turn);
        })
    }

    async fn write_jobs(&self, mut jobs: Vec<Job>) {
        loop {
            let mut tx = match self.begin_locked().await {
                Ok(tx) => tx,
                Err(error) => return answer_all(jobs.into_iter().map(|job| job.done), &error.to_string()),
            };
            let mut answers: Vec<Answer> = Vec::with_capacity(jobs.len());
            let mut failed = None;
            for (index, job) in jobs.iter().enumerate() {
                let before = rows_written(&mut tx).await;
                match job.op.run(&mut tx).await {
                    Err(error) if !error.is_refusal() => {
                        failed = Some((index, error));
                        break;
                    }
                    answer => {
                        if answer.is_err() {
                            let after = rows_written(&mut tx).await;
                            assert_eq!(before, after, "a write refused after writing rows: refuse before writing");
                        }
                        answers.push(answer);
                    }
                }
            }
            if let Some((index, error)) = failed {
                // A write failed in the database, perhaps half-way: undo the whole batch, answer
                // that write with its error, and write the others again without it (each sees
                // exactly the writes queued before it, as it will once committed). Every pass
                // takes one write out, so a batch of writes that all fail ends too.
                let rolled_back = tx.rollback().await;
                if error.is_connection_lost() || rolled_back.is_err() {
                    // Not the write's fault: nothing of the batch is written, and each may retry.
                    return answer_all(jobs.into_iter().map(|job| job.done), &error.to_string());
                }
                let _ = jobs.remove(index).done.send(Err(error));
                if jobs.is_empty() {
                    return;
                }
                continue;
            }
            match tx.commit().await {
                Ok(()) => {
                    for (job, answer) in jobs.into_iter().zip(answers) {
                        let _ = job.done.send(answer);
                    }
                }
                Err(error) => answer_all(jobs.into_iter().map(|job| job.done), &error.to_string()),
            }
            return;
        }
    }
}

/// Rows written so far by the batch's connection, in debug builds on SQLite (which counts them
/// cheaply), so that tests catch a write refused by a rule after it wrote something: the batch
/// undoes nothing for a refusal (see [`WriteOp`]). `None` elsewhere.
async fn rows_written(tx: &mut Tx) -> Option<i64> {
    match tx {
        Tx::Sqlite(t) if cfg!(debug_assertions) => {
            sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut **t).await.ok()
        }
        _ => None,
    }
}

fn answer_all(senders: impl IntoIterator<Item = oneshot::Sender<Answer>>, message: &str) {
    for done in senders {
        let _ = done.send(Err(StoreError::NotWritten(message.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use ledger_core::drawdown::{Category, Route};
    use ledger_core::{Date, Money};

    use crate::{Actor, Application, ScopeRequest, Store};

    /// A caller that gives up while waiting for the write lock takes its write back out of the
    /// queue: no later batch carries it out behind its back.
    #[tokio::test]
    async fn a_write_given_up_before_its_batch_is_never_carried_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let day = Date::parse("2026-11-20").unwrap();
        let actor = Actor { name: "clerk".into(), role: "clerk".into(), at: day, reason: String::new() };
        let application = Application {
            drawdown_id: "GONE".into(),
            estate_id: "E1".into(),
            scope: ScopeRequest::Estate,
            category: Category::parse("elevator").unwrap(),
            route: Route::GreenChannel,
            estimate: Money::from_fen(100),
            contractor: "C".into(),
            description: String::new(),
            applicant: "clerk".into(),
            submitted_on: day,
        };
        let held = store.writers.clone().lock_owned().await;
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), store.apply_drawdown(&application, &actor));
        assert!(waited.await.is_err(), "the write cannot finish while the lock is held");
        assert_eq!(store.queue.jobs.lock().unwrap().len(), 0, "the abandoned write left the queue");
        drop(held);
        // The writer goes on: the next write gets its own answer, not the abandoned one's.
        let next = store.cancel_drawdown("NOTHING", &actor).await;
        assert!(matches!(next, Err(crate::StoreError::NotFound(_))), "{next:?}");
    }
}
