//! Concurrent reads of latest values gathered into one batch request.
//!
//! The resolver reads the names of one `secrets([...])` request concurrently (and other
//! requests read at the same time). The first read that finds no batch forming becomes its
//! leader: it yields once, so the reads polled beside it join as followers, then takes them all
//! and asks Conjur for every value in one `GET /secrets?variable_ids=`. Conjur answers a batch
//! as a whole (one missing or forbidden variable fails it), so when the batch fails the leader
//! drops the followers' reply senders and each read asks on its own, getting its own answer.
//! A leader that is cancelled before it takes the batch releases the followers the same way.

use std::sync::Mutex;

use hush_core::SecretValue;
use tokio::sync::oneshot;

/// Most variables one batch request names (the query string grows with each).
pub const MAX_BATCH: usize = 100;

/// A follower's read: its variable id and where its value goes.
struct Pending {
    id: String,
    reply: oneshot::Sender<SecretValue>,
}

#[derive(Default)]
struct Forming {
    /// A leader is gathering followers.
    led: bool,
    followers: Vec<Pending>,
}

/// Gathers concurrent reads into batches.
#[derive(Default)]
pub(crate) struct ReadBatcher {
    forming: Mutex<Forming>,
}

/// What a read is in the batch it joined.
pub(crate) enum Joined<'a> {
    /// It gathers the batch: [`Leader::followers`] after yielding once.
    Leader(Leader<'a>),
    /// Its value comes from the leader's batch; when the sender is dropped (the batch failed,
    /// or the leader went away) it reads on its own.
    Follower(oneshot::Receiver<SecretValue>),
}

/// The leader's hold on the forming batch; releases the followers if dropped untaken.
pub(crate) struct Leader<'a> {
    batcher: &'a ReadBatcher,
    taken: bool,
}

impl ReadBatcher {
    /// Joins the forming batch with variable `id`.
    pub(crate) fn join(&self, id: &str) -> Joined<'_> {
        let mut forming = self.forming.lock().unwrap_or_else(|e| e.into_inner());
        if !forming.led || forming.followers.len() + 1 >= MAX_BATCH {
            if forming.led {
                // A full batch: this read starts the next one only after the leader takes it.
                let (reply, value) = oneshot::channel();
                drop(reply);
                return Joined::Follower(value);
            }
            forming.led = true;
            return Joined::Leader(Leader { batcher: self, taken: false });
        }
        let (reply, value) = oneshot::channel();
        forming.followers.push(Pending { id: id.to_owned(), reply });
        Joined::Follower(value)
    }
}

impl Leader<'_> {
    /// Yields once so that concurrent reads join, then takes them: their ids and a way to
    /// answer each.
    pub(crate) async fn followers(mut self) -> Vec<(String, Reply)> {
        tokio::task::yield_now().await;
        self.taken = true;
        let mut forming = self.batcher.forming.lock().unwrap_or_else(|e| e.into_inner());
        forming.led = false;
        std::mem::take(&mut forming.followers).into_iter().map(|p| (p.id, Reply(p.reply))).collect()
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.taken {
            let mut forming = self.batcher.forming.lock().unwrap_or_else(|e| e.into_inner());
            forming.led = false;
            // Dropping the senders sends each follower off to read on its own.
            forming.followers.clear();
        }
    }
}

/// Where one follower's value goes; dropping it unsent makes the follower read on its own.
pub(crate) struct Reply(oneshot::Sender<SecretValue>);

impl Reply {
    /// Hands the follower its value.
    pub(crate) fn send(self, value: SecretValue) {
        let _ = self.0.send(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_reads_join_one_leader() {
        let batcher = ReadBatcher::default();
        let Joined::Leader(leader) = batcher.join("a") else { panic!("the first read leads") };
        let followers: Vec<_> = ["b", "c"].iter().map(|id| batcher.join(id)).collect();
        assert!(followers.iter().all(|j| matches!(j, Joined::Follower(_))));
        let taken = leader.followers().await;
        assert_eq!(taken.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        // The batch is taken: the next read leads a new one.
        assert!(matches!(batcher.join("d"), Joined::Leader(_)));
    }

    #[tokio::test]
    async fn a_dropped_leader_sends_its_followers_off_on_their_own() {
        let batcher = ReadBatcher::default();
        let leader = batcher.join("a");
        let Joined::Follower(value) = batcher.join("b") else { panic!("a follower") };
        drop(leader);
        assert!(value.await.is_err(), "the follower learns it must read on its own");
        assert!(matches!(batcher.join("c"), Joined::Leader(_)));
    }

    #[tokio::test]
    async fn a_full_batch_sends_newcomers_off_on_their_own() {
        let batcher = ReadBatcher::default();
        let _leader = batcher.join("lead");
        let _joined: Vec<_> = (1..MAX_BATCH).map(|i| batcher.join(&i.to_string())).collect();
        let Joined::Follower(extra) = batcher.join("extra") else { panic!("a follower") };
        assert!(extra.await.is_err(), "a read past a full batch reads on its own");
    }
}
