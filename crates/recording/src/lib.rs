//! Recording files: a writer thread of its own receives the packets of a recorded meeting and
//! writes each track as it arrives: Opus in Ogg (the `ogg` crate), VP8 in WebM (the `webm`
//! crate, over libwebm); in an end-to-end encrypted meeting, the encrypted frames as they are
//! (a sealed log per track) and the pages' sealed keys beside them, which [`unseal`] opens
//! offline with the organizer's recording key ([`key`]). The caller (Summit's SFU task) never
//! waits for the disk: when the queue is full a packet is dropped and counted.
//!
//! No network and no meeting logic here: a crate of its own, so `summit record unseal` and any
//! other tool can read recordings without the server.

pub mod key;
pub mod unseal;

mod error;
mod ogg_opus;
mod sealed_log;
mod sink;
mod vp8_webm;
mod writer;

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use summit_proto::{MeetingName, Opaque, ParticipantId, TrackSource};

pub use error::{Error, Result};

/// One packet for the recording, as the publisher sent it. The same fields as the core's
/// `RecordedPacket` on purpose: neither crate depends on the other (the runtime converts,
/// moving the shared payload, not copying it).
#[derive(Debug, Clone)]
pub struct Packet {
    /// Whose.
    pub publisher: ParticipantId,
    /// Which of their tracks.
    pub source: TrackSource,
    /// Extended RTP sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// The RTP clock rate of the codec.
    pub clock_rate: u32,
    /// The RTP marker bit (end of a video frame).
    pub marker: bool,
    /// The payload is RED (RFC 2198): the codec's frame is its last block.
    pub red: bool,
    /// The RTP payload (shared with whoever else holds it, not copied).
    pub payload: Arc<[u8]>,
}

/// Packets queued for the writer before new ones are dropped (about 2 s of a busy meeting).
const QUEUE: usize = 8192;

/// What the writer thread is asked to do.
pub(crate) enum Job {
    Start(MeetingName, bool),
    Key(ParticipantId, Opaque),
    Stop(MeetingName),
    Name(ParticipantId, MeetingName, String),
    Forget(ParticipantId),
    Packet(Packet),
}

/// The SFU task's handle on the writer thread.
pub struct Recordings {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    dropped: u64,
}

impl Recordings {
    /// Starts the writer thread; recordings go under `root/<meeting>/<start time>/`.
    pub fn spawn(root: PathBuf) -> Result<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("summit-recording".into())
            .spawn(move || writer::write_loop(&root, rx))
            .map_err(Error::io("cannot start the recording thread"))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            dropped: 0,
        })
    }

    /// Recording of `meeting` started; `sealed`: its frames are end-to-end encrypted.
    pub fn start(&mut self, meeting: MeetingName, sealed: bool) {
        self.send(Job::Start(meeting, sealed));
    }

    /// A page's media key, sealed to the meeting's recording key: kept beside the recording.
    pub fn key(&mut self, id: ParticipantId, data: Opaque) {
        self.send(Job::Key(id, data));
    }

    /// Recording of `meeting` stopped: its files are finished.
    pub fn stop(&mut self, meeting: MeetingName) {
        self.send(Job::Stop(meeting));
    }

    /// Who a participant is, for file names.
    pub fn name(&mut self, id: ParticipantId, meeting: MeetingName, name: String) {
        self.send(Job::Name(id, meeting, name));
    }

    /// A participant left: their name is no longer needed (an open file keeps its own).
    pub fn forget(&mut self, id: ParticipantId) {
        self.send(Job::Forget(id));
    }

    /// One packet of a recorded meeting.
    pub fn packet(&mut self, p: Packet) {
        self.send(Job::Packet(p));
    }

    fn send(&mut self, job: Job) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped = self.dropped,
                        "the disk does not keep up with the recording"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the recording thread stopped; nothing more is recorded");
                self.tx = None;
            }
        }
    }

    /// Finishes every open file and waits for the writer (at shutdown).
    pub fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a recording directory holds: `{"meeting":…,"sealed":…}`.
pub const ABOUT_FILE: &str = "recording.json";

/// Where the sealed keys of a recording are kept, one JSON object per line.
pub const KEYS_FILE: &str = "keys.jsonl";
