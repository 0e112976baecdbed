//! Generation-checked handle table: the only way objects cross the C ABI.
//!
//! A handle is a `u64` below 2^53 (so JavaScript numbers carry it exactly):
//! bits 0..24 slot index, bits 24..32 a tag of this library instance, bits 32..53 the slot's generation.
//! Freed slots are reused oldest-first and bump their generation, so a stale, freed or foreign handle is
//! reported as such instead of reaching another object.

use super::error::{AbiError, Status};
use crate::data::RuntimeData;
use crate::pipeline::Session;
use crate::wav::WavParser;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

const INDEX_BITS: u32 = 24;
const TAG_BITS: u32 = 8;
const GEN_BITS: u32 = 21;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;

/// Everything a handle can name.
#[derive(Clone)]
pub enum Object {
    /// An immutable RuntimeData value, shared by every handle (and JS view) that names it.
    Data(Arc<RuntimeData>),
    /// A pipeline session.
    Session(Arc<Session>),
    /// An incremental WAV parser (`rm_wav_parser_*`).
    WavParser(Arc<Mutex<WavParser>>),
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Object::{}", self.kind())
    }
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Object::Data(_) => "data",
            Object::Session(_) => "session",
            Object::WavParser(_) => "WAV parser",
        }
    }
}

struct Slot {
    generation: u32,
    object: Option<Object>,
    /// The thread that made the handle (see [`ThreadOwner`]); 0 for none.
    owner: u64,
}

struct Table {
    slots: Vec<Slot>,
    free: VecDeque<u32>,
    live: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    slots: Vec::new(),
    free: VecDeque::new(),
    live: 0,
});

/// A per-load tag, so handles from another copy of the library are told apart from stale ones.
fn instance_tag() -> u64 {
    static TAG: OnceLock<u64> = OnceLock::new();
    *TAG.get_or_init(|| {
        let addr = &TABLE as *const _ as usize as u64;
        let mixed = (addr >> 12) ^ (addr >> 20) ^ (addr >> 28) ^ (addr >> 36);
        (mixed & TAG_MASK) | 1
    })
}

fn lock() -> MutexGuard<'static, Table> {
    // A panic while holding the lock cannot leave the table inconsistent (every mutation is one step),
    // so a poisoned lock is still safe to use.
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn encode(index: u32, generation: u32) -> u64 {
    ((generation as u64 & GEN_MASK) << (INDEX_BITS + TAG_BITS))
        | (instance_tag() << INDEX_BITS)
        | index as u64
}

/// A token per thread that made handles. JavaScript engines run each Worker on its own thread and
/// never run its finalizers when the Worker is terminated; the thread does exit, which drops this
/// thread-local, so whatever that Worker still owned (sessions and their threads, data) is freed here
/// instead of leaking for the life of the process.
struct ThreadOwner(u64);

impl ThreadOwner {
    fn current() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        thread_local! {
            static OWNER: ThreadOwner =
                ThreadOwner(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        }
        // During thread teardown the token may already be gone: such handles have no owner.
        OWNER.try_with(|o| o.0).unwrap_or(0)
    }
}

impl Drop for ThreadOwner {
    fn drop(&mut self) {
        // A panic must not escape a thread-local destructor (it would abort the process).
        let _ = std::panic::catch_unwind(|| {
            release_owned_by(self.0);
            crate::pipeline::wake::drop_group(self.0);
        });
    }
}

/// The calling thread's owner token: the group of the ready list its threaded sessions are listed in
/// (see `pipeline::wake`).
pub fn current_owner() -> u64 {
    ThreadOwner::current()
}

/// Frees every handle that thread `owner` made and did not free (its objects drop outside the lock).
fn release_owned_by(owner: u64) -> usize {
    let orphans: Vec<Object> = {
        let mut t = lock();
        let mut orphans = Vec::new();
        for index in 0..t.slots.len() {
            let slot = &mut t.slots[index];
            if slot.owner != owner || slot.object.is_none() {
                continue;
            }
            orphans.extend(slot.object.take());
            slot.owner = 0;
            t.free.push_back(index as u32);
            t.live -= 1;
        }
        orphans
    };
    let count = orphans.len();
    drop(orphans);
    count
}

/// Stores an object and returns its new handle (owned by the calling thread).
pub fn insert(object: Object) -> Result<u64, AbiError> {
    let owner = ThreadOwner::current();
    let mut t = lock();
    let index = match t.free.pop_front() {
        Some(i) => i,
        None => {
            if t.slots.len() as u64 > INDEX_MASK {
                return Err(AbiError::new(
                    Status::ResourceExhausted,
                    format!("too many live handles ({})", t.live),
                ));
            }
            t.slots.push(Slot {
                generation: 0,
                object: None,
                owner: 0,
            });
            (t.slots.len() - 1) as u32
        }
    };
    let slot = &mut t.slots[index as usize];
    slot.generation = (slot.generation % GEN_MASK as u32) + 1;
    slot.object = Some(object);
    slot.owner = owner;
    let generation = slot.generation;
    t.live += 1;
    Ok(encode(index, generation))
}

fn locate(t: &Table, handle: u64) -> Result<usize, AbiError> {
    if handle == 0 {
        return Err(AbiError::new(Status::InvalidHandle, "null handle (0)"));
    }
    if handle >> (INDEX_BITS + TAG_BITS + GEN_BITS) != 0 {
        return Err(AbiError::new(
            Status::InvalidHandle,
            format!("{handle} is not a handle (out of range)"),
        ));
    }
    let tag = (handle >> INDEX_BITS) & TAG_MASK;
    if tag != instance_tag() {
        return Err(AbiError::new(
            Status::InvalidHandle,
            format!("handle {handle} belongs to another instance of the remotemedia library"),
        ));
    }
    let index = (handle & INDEX_MASK) as usize;
    let generation = ((handle >> (INDEX_BITS + TAG_BITS)) & GEN_MASK) as u32;
    match t.slots.get(index) {
        Some(slot) if slot.generation == generation && slot.object.is_some() => Ok(index),
        Some(_) => Err(AbiError::new(
            Status::InvalidHandle,
            format!("stale handle {handle}: it was already freed"),
        )),
        None => Err(AbiError::new(
            Status::InvalidHandle,
            format!("unknown handle {handle}"),
        )),
    }
}

/// Clones the object a handle names (cheap: objects are reference-counted).
pub fn get(handle: u64) -> Result<Object, AbiError> {
    let t = lock();
    let index = locate(&t, handle)?;
    Ok(t.slots[index]
        .object
        .clone()
        .expect("located slots are occupied"))
}

/// The RuntimeData a handle names, or an error saying what the handle was instead.
pub fn get_data(handle: u64) -> Result<Arc<RuntimeData>, AbiError> {
    match get(handle)? {
        Object::Data(d) => Ok(d),
        other => Err(AbiError::new(
            Status::InvalidHandle,
            format!(
                "handle {handle} is a {} handle, expected data",
                other.kind()
            ),
        )),
    }
}

/// The session a handle names, or an error saying what the handle was instead.
pub fn get_session(handle: u64) -> Result<Arc<Session>, AbiError> {
    match get(handle)? {
        Object::Session(s) => Ok(s),
        other => Err(AbiError::new(
            Status::InvalidHandle,
            format!(
                "handle {handle} is a {} handle, expected session",
                other.kind()
            ),
        )),
    }
}

/// The WAV parser a handle names, or an error saying what the handle was instead.
pub fn get_wav_parser(handle: u64) -> Result<Arc<Mutex<WavParser>>, AbiError> {
    match get(handle)? {
        Object::WavParser(p) => Ok(p),
        other => Err(AbiError::new(
            Status::InvalidHandle,
            format!(
                "handle {handle} is a {} handle, expected WAV parser",
                other.kind()
            ),
        )),
    }
}

/// Frees a handle; the object is dropped when its last handle goes (outside the table lock).
pub fn remove(handle: u64) -> Result<Object, AbiError> {
    let mut t = lock();
    let index = locate(&t, handle)?;
    let object = t.slots[index]
        .object
        .take()
        .expect("located slots are occupied");
    t.free.push_back(index as u32);
    t.live -= 1;
    Ok(object)
}

/// Makes the data `handle` names unshared before it is written in place: when anything besides the
/// handle and `own_views` views of it holds the value (other handles, pipeline branches, views
/// elsewhere), the handle gets a copy of its own (copy-on-write, like `Arc::make_mut`). Returns whether
/// a copy was made.
pub fn make_data_unique(handle: u64, own_views: usize) -> Result<bool, AbiError> {
    let shared = {
        let t = lock();
        let index = locate(&t, handle)?;
        match &t.slots[index].object {
            Some(Object::Data(data)) if Arc::strong_count(data) <= 1 + own_views => {
                return Ok(false)
            }
            Some(Object::Data(data)) => data.clone(),
            Some(other) => {
                return Err(AbiError::new(
                    Status::InvalidHandle,
                    format!(
                        "handle {handle} is a {} handle, expected data",
                        other.kind()
                    ),
                ))
            }
            None => unreachable!("located slots are occupied"),
        }
    };
    // The copy is made outside the lock (it may be large).
    let copy = Arc::new(shared.try_clone()?);
    drop(shared);
    let mut t = lock();
    let index = locate(&t, handle)?;
    t.slots[index].object = Some(Object::Data(copy));
    Ok(true)
}

/// Number of handles not yet freed (leak checks).
pub fn live() -> usize {
    lock().live
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Object {
        Object::Data(Arc::new(RuntimeData::text("x")))
    }

    #[test]
    fn handles_left_by_an_exiting_thread_are_freed() {
        let (kept, left) = std::thread::spawn(|| {
            let kept = insert(data()).unwrap();
            let left = insert(data()).unwrap();
            remove(kept).unwrap();
            (kept, left)
        })
        .join()
        .unwrap();
        let err = get(left).unwrap_err();
        assert!(err.message.contains("already freed"), "{}", err.message);
        assert!(get(kept).is_err());
        // Handles of the current thread are untouched.
        let mine = insert(data()).unwrap();
        assert!(get(mine).is_ok());
        remove(mine).unwrap();
    }

    #[test]
    fn handles_fit_in_a_javascript_number() {
        let h = insert(data()).unwrap();
        assert!(h < (1u64 << 53));
        assert_ne!(h, 0);
        remove(h).unwrap();
    }

    #[test]
    fn freed_handles_are_stale_even_after_slot_reuse() {
        let a = insert(data()).unwrap();
        remove(a).unwrap();
        let err = remove(a).unwrap_err();
        assert_eq!(err.status, Status::InvalidHandle);
        assert!(err.message.contains("already freed"), "{}", err.message);
        // Reuse every free slot: the old handle must still not resolve.
        let fresh: Vec<u64> = (0..64).map(|_| insert(data()).unwrap()).collect();
        assert!(get(a).is_err());
        for h in fresh {
            remove(h).unwrap();
        }
    }

    #[test]
    fn null_foreign_and_garbage_handles_are_rejected() {
        assert!(get(0).unwrap_err().message.contains("null handle"));
        assert!(get(u64::MAX).unwrap_err().message.contains("out of range"));
        let h = insert(data()).unwrap();
        let foreign = h ^ (0x80 << INDEX_BITS);
        assert!(get(foreign)
            .unwrap_err()
            .message
            .contains("another instance"));
        remove(h).unwrap();
    }
}
