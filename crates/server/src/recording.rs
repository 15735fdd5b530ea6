//! Recording files: a writer thread of its own receives the packets the core hands out while a
//! meeting is recorded and writes each track as it arrives: Opus in Ogg (the `ogg` crate), VP8
//! in WebM (the `webm` crate, over libwebm). The SFU task never waits for the disk: when the
//! queue is full a packet is dropped and counted.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use anyhow::Context;
use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use summit_core::{vp8_descriptor_len, RecordedPacket};
use summit_proto::{MeetingName, ParticipantId, TrackSource};
use webm::mux::{SegmentBuilder, SegmentMode, VideoCodecId, VideoTrack, Writer};

/// Packets queued for the writer before new ones are dropped (about 2 s of a busy meeting).
const QUEUE: usize = 8192;
/// Ogg pages end at least this often (packets), so a crash loses at most about a second.
const PAGE_PACKETS: u64 = 50;

/// What the writer thread is asked to do.
enum Job {
    Start(MeetingName),
    Stop(MeetingName),
    Name(ParticipantId, MeetingName, String),
    Packet(RecordedPacket),
}

/// The SFU task's handle on the writer thread.
pub(crate) struct Recordings {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    dropped: u64,
}

impl Recordings {
    /// Starts the writer thread; recordings go under `root/<meeting>/<start time>/`.
    pub(crate) fn spawn(root: PathBuf) -> anyhow::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("summit-recording".into())
            .spawn(move || write_loop(&root, rx))
            .context("cannot start the recording thread")?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            dropped: 0,
        })
    }

    /// Recording of `meeting` started.
    pub(crate) fn start(&mut self, meeting: MeetingName) {
        self.send(Job::Start(meeting));
    }

    /// Recording of `meeting` stopped: its files are finished.
    pub(crate) fn stop(&mut self, meeting: MeetingName) {
        self.send(Job::Stop(meeting));
    }

    /// Who a participant is, for file names.
    pub(crate) fn name(&mut self, id: ParticipantId, meeting: MeetingName, name: String) {
        self.send(Job::Name(id, meeting, name));
    }

    /// One packet of a recorded meeting.
    pub(crate) fn packet(&mut self, p: RecordedPacket) {
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
    pub(crate) fn finish(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread: runs until the handle is dropped, then finishes every file.
fn write_loop(root: &Path, rx: Receiver<Job>) {
    let mut w = Writers::default();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Start(m) => w.start(root, m),
            Job::Stop(m) => w.stop(&m),
            Job::Name(id, m, name) => {
                w.names.insert(id, (m, name));
            }
            Job::Packet(p) => w.packet(p),
        }
    }
    let meetings: Vec<MeetingName> = w.sessions.keys().cloned().collect();
    for m in meetings {
        w.stop(&m);
    }
}

#[derive(Default)]
struct Writers {
    /// Meetings being recorded, with their directory.
    sessions: HashMap<MeetingName, PathBuf>,
    names: HashMap<ParticipantId, (MeetingName, String)>,
    tracks: HashMap<(ParticipantId, TrackSource), Track>,
}

impl Writers {
    fn start(&mut self, root: &Path, meeting: MeetingName) {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        let dir = root.join(meeting.as_str()).join(stamp);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(%meeting, "cannot create {}: {e}", dir.display());
            return;
        }
        tracing::info!(%meeting, "recording into {}", dir.display());
        self.sessions.insert(meeting, dir);
    }

    fn stop(&mut self, meeting: &MeetingName) {
        if self.sessions.remove(meeting).is_none() {
            return;
        }
        let ids: Vec<(ParticipantId, TrackSource)> = self
            .tracks
            .keys()
            .filter(|(id, _)| self.names.get(id).is_some_and(|(m, _)| m == meeting))
            .copied()
            .collect();
        for k in ids {
            if let Some(t) = self.tracks.remove(&k) {
                if let Err(e) = t.finish() {
                    tracing::error!(%meeting, "a recording did not finish cleanly: {e:#}");
                }
            }
        }
    }

    fn packet(&mut self, p: RecordedPacket) {
        let key = (p.publisher, p.source);
        if !self.tracks.contains_key(&key) {
            let Some((meeting, name)) = self.names.get(&p.publisher) else {
                return;
            };
            let Some(dir) = self.sessions.get(meeting) else {
                return;
            };
            let base = format!(
                "{}-{}-{}",
                file_safe(name),
                source_name(p.source),
                p.publisher.0
            );
            let track = if p.source.is_audio() {
                OggOpus::create(&dir.join(format!("{base}.ogg"))).map(Track::Audio)
            } else {
                Ok(Track::Video(Vp8Webm::new(dir.join(format!("{base}.webm")))))
            };
            match track {
                Ok(t) => {
                    self.tracks.insert(key, t);
                }
                Err(e) => {
                    tracing::error!("cannot start a recording file: {e:#}");
                    return;
                }
            }
        }
        if let Some(t) = self.tracks.get_mut(&key) {
            let result = match t {
                Track::Audio(a) => a.packet(&p),
                Track::Video(v) => v.packet(&p),
            };
            if let Err(e) = result {
                tracing::warn!("recording write failed: {e:#}");
            }
        }
    }
}

fn source_name(s: TrackSource) -> &'static str {
    match s {
        TrackSource::Microphone => "microphone",
        TrackSource::Camera => "camera",
        TrackSource::Screen => "screen",
    }
}

/// A display name as part of a file name: letters and digits kept, the rest `_`.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    if s.is_empty() {
        "participant".into()
    } else {
        s
    }
}

enum Track {
    Audio(OggOpus),
    Video(Vp8Webm),
}

impl Track {
    fn finish(self) -> anyhow::Result<()> {
        match self {
            Track::Audio(a) => a.finish(),
            Track::Video(v) => v.finish(),
        }
    }
}

/// Opus packets in an Ogg stream (RFC 7845). One packet is held back so the last one can
/// end the stream.
struct OggOpus {
    w: PacketWriter<'static, BufWriter<File>>,
    first_ts: Option<u32>,
    held: Option<(Vec<u8>, u64)>,
    packets: u64,
}

/// Ogg stream serial number: any, one stream per file.
const SERIAL: u32 = 0x5355_4d54;
/// Samples per Opus packet as browsers send them (20 ms at 48 kHz).
const OPUS_PACKET_SAMPLES: u64 = 960;

impl OggOpus {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = PacketWriter::new(BufWriter::new(f));
        // OpusHead: version 1, 2 channels, no pre-skip, 48 kHz, no gain, mapping family 0.
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0, 0]);
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]);
        w.write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)?;
        let vendor = b"Summit";
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)?;
        Ok(Self {
            w,
            first_ts: None,
            held: None,
            packets: 0,
        })
    }

    fn packet(&mut self, p: &RecordedPacket) -> anyhow::Result<()> {
        let first = *self.first_ts.get_or_insert(p.timestamp);
        // The granule position counts 48 kHz samples up to the end of the packet.
        let end = u64::from(p.timestamp.wrapping_sub(first)) + OPUS_PACKET_SAMPLES;
        if self.held.as_ref().is_some_and(|(_, g)| end <= *g) {
            return Ok(()); // late or repeated: the stream only moves forward
        }
        if let Some((data, granule)) = self.held.replace((p.payload.to_vec(), end)) {
            self.packets += 1;
            let info = if self.packets.is_multiple_of(PAGE_PACKETS) {
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.w.write_packet(data, SERIAL, info, granule)?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some((data, granule)) = self.held.take() {
            self.w
                .write_packet(data, SERIAL, PacketWriteEndInfo::EndStream, granule)?;
        }
        use std::io::Write;
        self.w.inner_mut().flush()?;
        Ok(())
    }
}

/// VP8 frames reassembled from RTP (RFC 7741) into a WebM file, which starts at the first
/// keyframe (its header gives the picture size the file declares).
struct Vp8Webm {
    path: PathBuf,
    segment: Option<(webm::mux::Segment<BufWriter<File>>, VideoTrack)>,
    frame: Vec<u8>,
    /// RTP timestamp of the frame being assembled, and whether all its packets came in order.
    frame_ts: Option<u32>,
    intact: bool,
    next_seq: u64,
    first_ts: Option<u32>,
    last_ns: Option<u64>,
}

impl Vp8Webm {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            segment: None,
            frame: Vec::new(),
            frame_ts: None,
            intact: false,
            next_seq: 0,
            first_ts: None,
            last_ns: None,
        }
    }

    fn packet(&mut self, p: &RecordedPacket) -> anyhow::Result<()> {
        let Some(offset) = vp8_descriptor_len(&p.payload) else {
            return Ok(());
        };
        let b0 = p.payload[0];
        let starts_frame = b0 & 0x10 != 0 && b0 & 0x07 == 0;
        if starts_frame {
            self.frame.clear();
            self.frame_ts = Some(p.timestamp);
            self.intact = true;
        } else if self.frame_ts != Some(p.timestamp) || p.seq != self.next_seq {
            // A packet of this frame was lost or came late: drop the frame.
            self.intact = false;
        }
        self.next_seq = p.seq + 1;
        if !self.intact {
            return Ok(());
        }
        self.frame.extend_from_slice(&p.payload[offset..]);
        if p.marker {
            self.intact = false;
            let frame = std::mem::take(&mut self.frame);
            self.write_frame(&frame, p.timestamp, p.clock_rate)?;
            self.frame = frame;
        }
        Ok(())
    }

    fn write_frame(&mut self, frame: &[u8], ts: u32, clock_rate: u32) -> anyhow::Result<()> {
        let keyframe = frame.first().is_some_and(|b| b & 0x01 == 0);
        if self.segment.is_none() {
            if !keyframe {
                return Ok(());
            }
            let Some((w, h)) = vp8_size(frame) else {
                return Ok(());
            };
            let f = File::create(&self.path)
                .with_context(|| format!("cannot create {}", self.path.display()))?;
            let builder = SegmentBuilder::new(Writer::new(BufWriter::new(f)))
                .and_then(|b| b.set_mode(SegmentMode::File))
                .and_then(|b| b.set_writing_app("Summit"))
                .map_err(|e| anyhow::anyhow!("cannot start a WebM file: {e:?}"))?;
            let (builder, track) = builder
                .add_video_track(w, h, VideoCodecId::VP8, None)
                .map_err(|e| anyhow::anyhow!("cannot add a WebM track: {e:?}"))?;
            self.segment = Some((builder.build(), track));
            self.first_ts = Some(ts);
        }
        let first = self.first_ts.unwrap_or(ts);
        let ticks = u64::from(ts.wrapping_sub(first));
        let ns = ticks * 1_000_000_000 / u64::from(clock_rate.max(1));
        if self.last_ns.is_some_and(|l| ns <= l) {
            return Ok(()); // timestamps must grow
        }
        self.last_ns = Some(ns);
        if let Some((segment, track)) = &mut self.segment {
            segment
                .add_frame(*track, frame, ns, keyframe)
                .map_err(|e| anyhow::anyhow!("cannot write a WebM frame: {e:?}"))?;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some((segment, _)) = self.segment {
            segment
                .finalize(None)
                .map_err(|_| anyhow::anyhow!("cannot finish {}", self.path.display()))?;
        }
        Ok(())
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 section 9.1).
fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([*frame.get(6)?, *frame.get(7)?]) & 0x3fff;
    let h = u16::from_le_bytes([*frame.get(8)?, *frame.get(9)?]) & 0x3fff;
    (w > 0 && h > 0).then_some((u32::from(w), u32::from(h)))
}
