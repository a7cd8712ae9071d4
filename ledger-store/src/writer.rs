//! Group commit for every planned write, and the one door through which a plan is written.
//!
//! Every write takes the ledger's write lock (the hash chain has one head), and a durable commit
//! costs a disk flush (≈ 2 ms here), so writers one transaction each topped out at a few hundred
//! a second. Instead a write joins a queue; whoever gets the write lock next takes everything
//! queued (up to [`MAX_BATCH`]) and writes it in one transaction, then commits once and answers
//! each. A write is answered only after its commit, and each write sees the ones queued before
//! it, so repeating a transition still finds it done.
//!
//! A write is a [`PlannedWrite`]: it reads what its planner in core needs and returns the plan,
//! writing nothing; the writer then posts the plan's entries through [`crate::ledger`] and the
//! feature's rows and events through the write's own [`PlannedWrite::add_rows`], in one group.
//! So a refusal always comes before anything is written and needs nothing undone, and the others
//! go on. A write that fails in the database (a constraint, a trigger, a broken connection) may
//! have written half of itself: the batch is rolled back and written again without it. That is
//! rare, so the common batch pays for no savepoints (one round trip per write, and on PostgreSQL
//! a subtransaction each, which was what they cost).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ledger_core::plan::Plan;
use tokio::sync::{oneshot, OwnedMutexGuard};

use crate::group::WriteGroup;
use crate::ledger::{append_entries, new_entries};
use crate::{Store, StoreError, Tx};

/// The most writes committed together: bounds how long the first of them waits.
const MAX_BATCH: usize = 64;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A plan as the store holds it: core's plan, and the account numbers its loader already read
/// (so that posting does not look them up again).
pub(crate) struct Planned<R, A> {
    pub plan: Plan<R, A>,
    pub known_accounts: HashMap<String, i64>,
}

impl<R, A> From<Plan<R, A>> for Planned<R, A> {
    fn from(plan: Plan<R, A>) -> Self {
        Planned { plan, known_accounts: HashMap::new() }
    }
}

/// A write the group commit can carry: a feature's loader around a planner of core.
pub(crate) trait PlannedWrite: Send + Sync + 'static {
    type Row: Send + Sync;
    type Answer: Send + 'static;

    /// Reads what the planner needs inside the batch's transaction and returns its plan (or its
    /// refusal). Writes nothing.
    fn plan<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, Result<Planned<Self::Row, Self::Answer>, StoreError>>;

    /// Adds the plan's rows and events (never its entries: the writer posts those) to `group`.
    fn add_rows<'a>(&self, group: &mut WriteGroup<'a>, plan: &'a Plan<Self::Row, Self::Answer>);
}

/// Writes one plan inside `tx`: its entries through the ledger, then its rows and events, all in
/// one group. Returns the plan's answer.
async fn write_plan<W: PlannedWrite>(write: &W, tx: &mut Tx) -> Result<W::Answer, StoreError> {
    let Planned { plan, known_accounts } = write.plan(tx).await?;
    if plan.writes_nothing() {
        return Ok(plan.answer);
    }
    // A refunded unit takes no more postings, whichever workflow planned them (SPEC §10).
    crate::estate::refuse_closed_postings(tx, &plan.entries).await?;
    let entries = new_entries(&plan.entries);
    let mut group = WriteGroup::new(tx);
    append_entries(tx, &mut group, &entries, &known_accounts).await?;
    write.add_rows(&mut group, &plan);
    group.send(tx).await?;
    Ok(plan.answer)
}

/// A queued write with its answer kept until the batch commits; type-erased so that writes of
/// every feature share one queue.
trait Queued: Send {
    fn id(&self) -> u64;
    /// Writes (or refuses) inside `tx`, keeping the answer; `Err` when the database failed.
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether the kept answer is a refusal (debug builds check it wrote nothing).
    fn refused(&self) -> bool;
    /// Sends the kept answer (after the commit).
    fn answer(self: Box<Self>);
    fn fail(self: Box<Self>, error: StoreError);
}

struct Job<W: PlannedWrite> {
    id: u64,
    write: W,
    kept: Option<Result<W::Answer, StoreError>>,
    done: oneshot::Sender<Result<W::Answer, StoreError>>,
}

impl<W: PlannedWrite> Queued for Job<W> {
    fn id(&self) -> u64 {
        self.id
    }

    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match write_plan(&self.write, tx).await {
                Err(error) if !error.is_refusal() => Err(error),
                answer => {
                    self.kept = Some(answer);
                    Ok(())
                }
            }
        })
    }

    fn refused(&self) -> bool {
        matches!(self.kept, Some(Err(_)))
    }

    fn answer(self: Box<Self>) {
        let answer = self.kept.unwrap_or_else(|| Err(StoreError::NotWritten("the write was not run".to_owned())));
        let _ = self.done.send(answer);
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.done.send(Err(error));
    }
}

/// Writes waiting for the next batch.
#[derive(Default)]
pub(crate) struct WriteQueue {
    jobs: Mutex<Vec<Box<dyn Queued>>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteQueue").field("queued", &self.jobs.lock().map_or(0, |j| j.len())).finish()
    }
}

impl WriteQueue {
    fn push<W: PlannedWrite>(&self, write: W, done: oneshot::Sender<Result<W::Answer, StoreError>>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let job = Job { id, write, kept: None, done };
        self.jobs.lock().expect("write queue lock").push(Box::new(job));
        id
    }

    fn take(&self) -> Vec<Box<dyn Queued>> {
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
            jobs.retain(|job| job.id() != self.id);
        }
    }
}

impl Store {
    /// Queues one planned write and returns its answer once the batch that carried it has
    /// committed.
    pub(crate) async fn write<W: PlannedWrite>(&self, write: W) -> Result<W::Answer, StoreError> {
        let (done, mut answer) = oneshot::channel();
        let _unqueue = Unqueue { queue: &self.queue, id: self.queue.push(write, done) };
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
    fn write_batch(self, jobs: Vec<Box<dyn Queued>>, turn: OwnedMutexGuard<()>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.write_jobs(jobs).await;
            drop(turn);
        })
    }

    async fn write_jobs(&self, mut jobs: Vec<Box<dyn Queued>>) {
        loop {
            let mut tx = match self.begin_locked().await {
                Ok(tx) => tx,
                Err(error) => return fail_all(jobs, &error.to_string()),
            };
            let mut failed = None;
            for (index, job) in jobs.iter_mut().enumerate() {
                let before = rows_written(&mut tx).await;
                if let Err(error) = job.run(&mut tx).await {
                    failed = Some((index, error));
                    break;
                }
                if job.refused() {
                    let after = rows_written(&mut tx).await;
                    assert_eq!(before, after, "a write refused after writing rows: refuse before writing");
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
                    return fail_all(jobs, &error.to_string());
                }
                jobs.remove(index).fail(error);
                if jobs.is_empty() {
                    return;
                }
                continue;
            }
            match tx.commit().await {
                Ok(()) => jobs.into_iter().for_each(|job| job.answer()),
                Err(error) => fail_all(jobs, &error.to_string()),
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

fn fail_all(jobs: Vec<Box<dyn Queued>>, message: &str) {
    for job in jobs {
        job.fail(StoreError::NotWritten(message.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use ledger_core::actor::{Actor, Role};
    use ledger_core::drawdown::{Act, Application, Category, Route, ScopeRequest};
    use ledger_core::{Date, Money};

    use crate::Store;

    /// A caller that gives up while waiting for the write lock takes its write back out of the
    /// queue: no later batch carries it out behind its back.
    #[tokio::test]
    async fn a_write_given_up_before_its_batch_is_never_carried_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let day = Date::parse("2026-11-20").unwrap();
        let actor = Act { actor: Actor::city("clerk", Role::Clerk).unwrap(), at: day, reason: String::new() };
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
