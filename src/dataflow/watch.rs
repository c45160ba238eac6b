//! A dataflow kept alive between changes to its input: facts added and retracted in
//! batches, each batch answered with the conclusions that appeared, disappeared or
//! changed confidence, computed from the change alone.
//!
//! The input facts enter at time 0 and batch `k` at time `k`; workers move to the next
//! time only when the previous one is complete on every worker, and worker 0 of the
//! process tells the watcher then. The changes gathered up to that point are exactly
//! those of the batch, since the next batch is not handed out before they are read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rustc_hash::FxHashMap;

use super::{build, lock, Error, Options, Shared};
use crate::eval::{LimitExceeded, Limits, Model};
use crate::program::{PredId, Program};
use crate::value::{Interner, Value, ValueId};

/// A change to the input: a fact added with its confidence, or every input record of a
/// tuple retracted.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Adds the fact with this confidence (a tuple may be given more than once; it
    /// keeps its best confidence).
    Add(PredId, Vec<ValueId>, f64),
    /// Retracts the tuple, whatever confidences it was given.
    Retract(PredId, Vec<ValueId>),
}

/// A fact whose presence or confidence a batch changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Changed {
    /// Its relation.
    pub predicate: PredId,
    /// Its values.
    pub tuple: Vec<ValueId>,
    /// Its confidence before the batch, `None` if it was absent.
    pub before: Option<f64>,
    /// Its confidence after, `None` if it is gone.
    pub after: Option<f64>,
}

/// What one batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Input records added.
    pub added: usize,
    /// Input records retracted.
    pub retracted: usize,
    /// Positions in the batch of retractions of tuples that were not input facts.
    pub absent: Vec<usize>,
    /// The facts that changed, every relation, in relation then value-id order.
    pub changes: Vec<Changed>,
}

/// A change to one relation: relation, values, confidence bits, count.
type Record = (PredId, Vec<u32>, u64, isize);

/// Between the watcher and its workers: the batches handed out, and the times done.
pub(super) struct Channel {
    batches: Mutex<Vec<Arc<Vec<Record>>>>,
    closed: AtomicBool,
    completed: Mutex<u64>,
    done: Condvar,
}

impl Channel {
    /// Worker 0: every worker has finished `time`.
    pub(super) fn completed(&self, time: u64) {
        *lock(&self.completed) = time;
        self.done.notify_all();
    }

    /// The `index`-th batch (from 0), once handed out.
    pub(super) fn batch(&self, index: usize) -> Option<Arc<Vec<Record>>> {
        lock(&self.batches).get(index).cloned()
    }

    /// Whether no batch will come.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A running dataflow over a program's rules, its input changeable in batches.
pub struct Watcher {
    shared: Arc<Shared>,
    channel: Arc<Channel>,
    guards: Option<timely_communication::initialize::WorkerGuards<()>>,
    /// Every relation's facts now: relation and values to confidence bits.
    current: FxHashMap<(PredId, Vec<u32>), u64>,
    /// Input records now: relation and values to the confidence bits of each record.
    inputs: FxHashMap<(PredId, Vec<u32>), Vec<u64>>,
    /// Batches applied.
    time: u64,
}

impl Watcher {
    /// Starts the workers on `program`'s rules and facts and waits until they have
    /// evaluated them. One process only (`options.cluster` must be `None`); of the
    /// limits, `max_facts` holds for the life of the watcher.
    ///
    /// Call [`super::unsupported`] first: constructs it names are not evaluated
    /// faithfully.
    pub fn start(program: &Program, options: &Options, limits: &Limits) -> Result<Watcher, Error> {
        if options.cluster.is_some() {
            return Err(Error::Workers("a watcher runs in one process".to_string()));
        }
        let mut inputs: FxHashMap<(PredId, Vec<u32>), Vec<u64>> = FxHashMap::default();
        let facts: Vec<(PredId, Vec<u32>, u64)> = program
            .facts()
            .iter()
            .map(|fact| {
                let row: Vec<u32> = fact.tuple.iter().map(|v| v.0).collect();
                let bits = program.fact_confidence(fact).to_bits();
                inputs
                    .entry((fact.predicate, row.clone()))
                    .or_default()
                    .push(bits);
                (fact.predicate, row, bits)
            })
            .collect();
        let shared = Arc::new(Shared::new(program, facts, limits.max_facts, None));
        let channel = Arc::new(Channel {
            batches: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            completed: Mutex::new(0),
            done: Condvar::new(),
        });
        let workers = options.workers.max(1);
        let config = timely::Config {
            communication: if workers == 1 {
                timely::CommunicationConfig::Thread
            } else {
                timely::CommunicationConfig::Process(workers)
            },
            worker: timely::WorkerConfig::default(),
        };
        let (worker_shared, worker_channel) = (Arc::clone(&shared), Arc::clone(&channel));
        let guards = timely::execute(config, move |worker| {
            build::run_watch_worker(worker, &worker_shared, &worker_channel);
        })
        .map_err(Error::Workers)?;
        let mut watcher = Watcher {
            shared,
            channel,
            guards: Some(guards),
            current: FxHashMap::default(),
            inputs,
            time: 0,
        };
        watcher.settle()?;
        Ok(watcher)
    }

    /// Waits for the current time to complete, then folds its changes into the facts
    /// now and returns them.
    fn settle(&mut self) -> Result<Vec<Changed>, Error> {
        let target = self.time + 1;
        let mut completed = lock(&self.channel.completed);
        while *completed < target {
            if let Some(limit) = *lock(&self.shared.stopped) {
                return Err(Error::Limit(LimitExceeded {
                    limit,
                    iterations: self.time as usize,
                    facts: self.shared.facts_now.load(Ordering::Relaxed).max(0) as usize,
                    growing: None,
                    within_rule: false,
                }));
            }
            let finished = self
                .guards
                .as_ref()
                .is_some_and(|g| g.guards().iter().any(|t| t.is_finished()));
            if finished {
                return Err(Error::Workers("a worker stopped".to_string()));
            }
            completed = self
                .channel
                .done
                .wait_timeout(completed, Duration::from_millis(20))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        drop(completed);
        let mut records = std::mem::take(&mut *lock(&self.shared.results));
        records.sort_unstable();
        // Each (relation, values, confidence) once, with its counts summed.
        let mut net: Vec<(u32, Vec<u32>, u64, isize)> = Vec::new();
        for (p, row, bits, diff) in records {
            match net.last_mut() {
                Some(last) if last.0 == p && last.1 == row && last.2 == bits => last.3 += diff,
                _ => net.push((p, row, bits, diff)),
            }
        }
        let mut before: FxHashMap<(PredId, Vec<u32>), Option<u64>> = FxHashMap::default();
        for (p, row, _, diff) in &net {
            if *diff != 0 {
                let key = (PredId(*p), row.clone());
                let was = self.current.get(&key).copied();
                before.entry(key).or_insert(was);
            }
        }
        for (p, row, bits, diff) in &net {
            if *diff < 0 {
                let key = (PredId(*p), row.clone());
                if self.current.get(&key) == Some(bits) {
                    self.current.remove(&key);
                }
            }
        }
        for (p, row, bits, diff) in net {
            if diff > 0 {
                self.current.insert((PredId(p), row), bits);
            }
        }
        let mut changes: Vec<Changed> = before
            .into_iter()
            .filter_map(|(key, was)| {
                let now = self.current.get(&key).copied();
                (was != now).then(|| Changed {
                    predicate: key.0,
                    tuple: key.1.into_iter().map(ValueId).collect(),
                    before: was.map(f64::from_bits),
                    after: now.map(f64::from_bits),
                })
            })
            .collect();
        changes.sort_by(|a, b| (a.predicate, &a.tuple).cmp(&(b.predicate, &b.tuple)));
        self.time = target;
        Ok(changes)
    }

    /// The id of `value`, interned into the values the workers share.
    pub fn intern(&self, value: Value) -> ValueId {
        lock(&self.shared.interner).intern(value)
    }

    /// A copy of the values now, those of new input facts and computed ones included.
    pub fn interner(&self) -> Interner {
        lock(&self.shared.interner).clone()
    }

    /// Applies a batch of changes and waits for its consequences. Adding a fact with
    /// a confidence it already has as an input does nothing; retracting a tuple that is
    /// not an input fact does nothing and is listed in [`Applied::absent`].
    pub fn apply(&mut self, updates: &[Update]) -> Result<Applied, Error> {
        let mut applied = Applied::default();
        let mut records: Vec<Record> = Vec::new();
        for (position, update) in updates.iter().enumerate() {
            match update {
                Update::Add(p, tuple, confidence) => {
                    let row: Vec<u32> = tuple.iter().map(|v| v.0).collect();
                    let bits = confidence.to_bits();
                    let held = self.inputs.entry((*p, row.clone())).or_default();
                    if !held.contains(&bits) {
                        held.push(bits);
                        records.push((*p, row, bits, 1));
                        applied.added += 1;
                    }
                }
                Update::Retract(p, tuple) => {
                    let row: Vec<u32> = tuple.iter().map(|v| v.0).collect();
                    match self.inputs.remove(&(*p, row.clone())) {
                        Some(held) if !held.is_empty() => {
                            applied.retracted += held.len();
                            records
                                .extend(held.into_iter().map(|bits| (*p, row.clone(), bits, -1)));
                        }
                        _ => applied.absent.push(position),
                    }
                }
            }
        }
        lock(&self.channel.batches).push(Arc::new(records));
        self.wake();
        applied.changes = self.settle()?;
        Ok(applied)
    }

    /// Wakes the workers, parked while they wait for a batch.
    fn wake(&self) {
        if let Some(guards) = &self.guards {
            for guard in guards.guards() {
                guard.thread().unpark();
            }
        }
    }

    /// Facts in every relation now.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether no relation holds a fact.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// The confidence of a fact now, if it holds.
    pub fn confidence(&self, predicate: PredId, tuple: &[ValueId]) -> Option<f64> {
        let row: Vec<u32> = tuple.iter().map(|v| v.0).collect();
        self.current
            .get(&(predicate, row))
            .map(|b| f64::from_bits(*b))
    }

    /// Every fact now, as a model of `program` (whose relations these are), with no
    /// derivations recorded. Costs a pass over every fact.
    pub fn model(&self, program: &Program) -> Model {
        let facts = self.current.iter().map(|((p, row), bits)| {
            (
                *p,
                row.iter().map(|v| ValueId(*v)).collect(),
                f64::from_bits(*bits),
            )
        });
        Model::from_facts(program, self.interner(), facts, self.time as usize)
    }

    /// Stops the workers and waits for them.
    pub fn close(mut self) -> Result<(), Error> {
        self.shut()
    }

    fn shut(&mut self) -> Result<(), Error> {
        self.channel.closed.store(true, Ordering::Release);
        self.wake();
        let Some(guards) = self.guards.take() else {
            return Ok(());
        };
        let failed: Vec<String> = guards.join().into_iter().filter_map(Result::err).collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Workers(failed.join("; ")))
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}
