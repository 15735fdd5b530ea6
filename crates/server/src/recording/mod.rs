//! Recording files: a writer thread of its own receives the packets the core hands out while a
//! meeting is recorded and writes each track as it arrives: Opus in Ogg (the `ogg` crate), VP8
//! in WebM (the `webm` crate, over libwebm); in an end-to-end encrypted meeting, the encrypted
//! frames as they are (a sealed log per track) and the pages' sealed keys beside them, for
//! `summit record unseal`. The SFU task never waits for the disk: when the queue is full a
//! packet is dropped and counted.

pub(crate) mod key;
pub(crate) mod unseal;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use anyhow::Context;
use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use summit_codec::{vp8_descriptor_len, vp8_frame_start, vp8_is_keyframe};
use summit_core::RecordedPacket;
use summit_proto::{MeetingName, ParticipantId, TrackSource};
use webm::mux::{SegmentBuilder, SegmentMode, VideoCodecId, VideoTrack, Writer};

/// Packets queued for the writer before new ones are dropped (about 2 s of a busy meeting).
const QUEUE: usize = 8192;
/// Ogg pages end at least this often (packets), so a crash loses at most about a second.
const PAGE_PACKETS: u64 = 50;

/// What the writer thread is asked to do.
enum Job {
    Start(MeetingName, bool),
    Key(ParticipantId, String),
    Stop(MeetingName),
    Name(ParticipantId, MeetingName, String),
    Forget(ParticipantId),
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

    /// Recording of `meeting` started; `sealed`: its frames are end-to-end encrypted.
    pub(crate) fn start(&mut self, meeting: MeetingName, sealed: bool) {
        self.send(Job::Start(meeting, sealed));
    }

    /// A page's media key, sealed to the meeting's recording key: kept beside the recording.
    pub(crate) fn key(&mut self, id: ParticipantId, data: String) {
        self.send(Job::Key(id, data));
    }

    /// Recording of `meeting` stopped: its files are finished.
    pub(crate) fn stop(&mut self, meeting: MeetingName) {
        self.send(Job::Stop(meeting));
    }

    /// Who a participant is, for file names.
    pub(crate) fn name(&mut self, id: ParticipantId, meeting: MeetingName, name: String) {
        self.send(Job::Name(id, meeting, name));
    }

    /// A participant left: their name is no longer needed (an open file keeps its own).
    pub(crate) fn forget(&mut self, id: ParticipantId) {
        self.send(Job::Forget(id));
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
            Job::Start(m, sealed) => w.start(root, m, sealed),
            Job::Key(id, data) => w.key(id, &data),
            Job::Stop(m) => w.stop(&m),
            Job::Name(id, m, name) => {
                // Back (a resumed session): keep the name past this recording.
                w.departed.retain(|p| *p != id);
                w.names.insert(id, (m, name));
            }
            Job::Forget(id) => w.forget(id),
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
    /// Meetings being recorded: their directory, and whether their frames are sealed.
    sessions: HashMap<MeetingName, (PathBuf, bool)>,
    names: HashMap<ParticipantId, (MeetingName, String)>,
    /// Participants who left while one of their files was open.
    departed: Vec<ParticipantId>,
    tracks: HashMap<(ParticipantId, TrackSource), Track>,
}

impl Writers {
    fn start(&mut self, root: &Path, meeting: MeetingName, sealed: bool) {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        let Some(dir) = inside(root, &[meeting.as_str(), &stamp]) else {
            tracing::error!(%meeting, "refusing to record outside {}", root.display());
            return;
        };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(%meeting, "cannot create {}: {e}", dir.display());
            return;
        }
        tracing::info!(%meeting, "recording into {}", dir.display());
        let about = serde_json::json!({ "meeting": meeting.as_str(), "sealed": sealed });
        if let Err(e) = std::fs::write(dir.join(ABOUT_FILE), about.to_string() + "\n") {
            tracing::error!(%meeting, "cannot describe the recording: {e}");
        }
        self.sessions.insert(meeting, (dir, sealed));
    }

    /// Drops a departed participant's name unless one of their files is still open (it is
    /// finished, and the name dropped, when the recording stops).
    fn forget(&mut self, id: ParticipantId) {
        if self.tracks.keys().any(|(p, _)| *p == id) {
            self.departed.push(id);
        } else {
            self.names.remove(&id);
        }
    }

    fn key(&mut self, id: ParticipantId, data: &str) {
        let Some((dir, true)) = self.names.get(&id).and_then(|(m, _)| self.sessions.get(m)) else {
            return;
        };
        let line = serde_json::json!({ "participant": id.0, "data": data }).to_string();
        let path = dir.join(KEYS_FILE);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::error!("cannot keep a sealed key in {}: {e}", path.display());
        }
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
            if self.departed.contains(&k.0) {
                self.departed.retain(|p| *p != k.0);
                self.names.remove(&k.0);
            }
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
            let Some((dir, sealed)) = self.sessions.get(meeting) else {
                return;
            };
            let base = format!(
                "{}-{}-{}",
                file_safe(name),
                source_name(p.source),
                p.publisher.0
            );
            let track = Track::create(dir, &base, p.source.is_audio(), *sealed);
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
            if let Err(e) = t.packet(&p) {
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

/// `root` joined with `parts`, if that stays inside `root`: each part one plain name (no
/// separator, not `.` or `..`, not hidden). Meeting names are checked where they are parsed;
/// this keeps a path the recorder writes from ever leaving its folder regardless.
fn inside(root: &Path, parts: &[&str]) -> Option<PathBuf> {
    let mut p = root.to_path_buf();
    for part in parts {
        let plain = !part.is_empty()
            && !part.starts_with('.')
            && !part.contains(['/', '\\', '\0'])
            && std::path::Path::new(part).components().count() == 1;
        if !plain {
            return None;
        }
        p.push(part);
    }
    Some(p)
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

/// What a recording directory holds: `{"meeting":…,"sealed":…}`.
pub(crate) const ABOUT_FILE: &str = "recording.json";

/// Where the sealed keys of a recording are kept, one JSON object per line.
pub(crate) const KEYS_FILE: &str = "keys.jsonl";

/// Receives whole frames (an Opus packet, a VP8 frame) with their RTP timestamp.
pub(crate) trait FrameSink {
    fn frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> anyhow::Result<()>;
    /// A RED (RFC 2198) payload: its primary block, the codec's frame, is the one recorded
    /// (the redundant copies of earlier frames were recorded as those frames). One that does
    /// not parse is skipped.
    fn red_frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> anyhow::Result<()> {
        match primary_of_red(data) {
            Some(primary) => self.frame(ts, clock_rate, primary),
            None => Ok(()),
        }
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// One recorded track: VP8 is reassembled from its packets; Opus packets are frames.
struct Track {
    vp8: Option<Vp8Assembler>,
    sink: Box<dyn FrameSink + Send>,
}

impl Track {
    fn create(dir: &Path, base: &str, audio: bool, sealed: bool) -> anyhow::Result<Self> {
        let sink: Box<dyn FrameSink + Send> = match (sealed, audio) {
            (true, _) => Box::new(SealedLog::create(
                &dir.join(format!("{base}.sealed")),
                audio,
            )?),
            (false, true) => Box::new(OggOpus::create(&dir.join(format!("{base}.ogg")))?),
            (false, false) => Box::new(Vp8Webm::new(dir.join(format!("{base}.webm")))),
        };
        Ok(Self {
            vp8: (!audio).then(Vp8Assembler::default),
            sink,
        })
    }

    fn packet(&mut self, p: &RecordedPacket) -> anyhow::Result<()> {
        match &mut self.vp8 {
            None if p.red => self.sink.red_frame(p.timestamp, p.clock_rate, &p.payload),
            None => self.sink.frame(p.timestamp, p.clock_rate, &p.payload),
            Some(a) => match a.push(p) {
                Some(frame) => {
                    let r = self.sink.frame(p.timestamp, p.clock_rate, &frame);
                    a.give_back(frame);
                    r
                }
                None => Ok(()),
            },
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        self.sink.finish()
    }
}

/// Reassembles VP8 frames from RTP packets (RFC 7741); a frame with a lost packet is dropped.
#[derive(Default)]
struct Vp8Assembler {
    frame: Vec<u8>,
    /// RTP timestamp of the frame being assembled, and whether all its packets came in order.
    frame_ts: Option<u32>,
    intact: bool,
    next_seq: u64,
}

impl Vp8Assembler {
    /// Adds a packet; returns the frame it completes, if any.
    fn push(&mut self, p: &RecordedPacket) -> Option<Vec<u8>> {
        let offset = vp8_descriptor_len(&p.payload)?;
        if vp8_frame_start(&p.payload) {
            self.frame.clear();
            self.frame_ts = Some(p.timestamp);
            self.intact = true;
        } else if self.frame_ts != Some(p.timestamp) || p.seq != self.next_seq {
            // A packet of this frame was lost or came late: drop the frame.
            self.intact = false;
        }
        self.next_seq = p.seq + 1;
        if !self.intact {
            return None;
        }
        self.frame.extend_from_slice(p.payload.get(offset..)?);
        if !p.marker {
            return None;
        }
        self.intact = false;
        Some(std::mem::take(&mut self.frame))
    }

    /// Returns a frame's buffer for reuse.
    fn give_back(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        self.frame = buf;
    }
}

/// The last block of a RED payload (str0m's RFC 2198 parser, which bounds the work a hostile
/// payload can cause), or `None` if it does not parse.
pub(crate) fn primary_of_red(data: &[u8]) -> Option<&[u8]> {
    let blocks = str0m::rtp::RedDecoder::decode(data).ok()?;
    blocks.last().map(|b| b.payload)
}

/// The frames of an end-to-end encrypted track exactly as they came, for `summit record
/// unseal`: a header line, then per frame its RTP timestamp, clock rate and length (u32, big
/// endian; the length's top bit set for a RED payload, which only the decrypted frame shows
/// the blocks of) and bytes.
pub(crate) struct SealedLog {
    w: BufWriter<File>,
    frames: u64,
}

/// First bytes of a sealed log, before "audio" or "video" and a newline.
pub(crate) const SEALED_MAGIC: &str = "SUMMIT-SEALED/2 ";
/// The same before RED: lengths have no flag.
pub(crate) const SEALED_MAGIC_V1: &str = "SUMMIT-SEALED/1 ";
/// In a sealed log's frame length: the frame is a RED payload.
pub(crate) const SEALED_RED: u32 = 0x8000_0000;

impl SealedLog {
    fn create(path: &Path, audio: bool) -> anyhow::Result<Self> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::new(f);
        let kind = if audio { "audio" } else { "video" };
        w.write_all(format!("{SEALED_MAGIC}{kind}\n").as_bytes())?;
        Ok(Self { w, frames: 0 })
    }
}

impl SealedLog {
    fn write(&mut self, ts: u32, clock_rate: u32, data: &[u8], red: bool) -> anyhow::Result<()> {
        let len = u32::try_from(data.len())?;
        anyhow::ensure!(len < SEALED_RED, "a frame of {len} bytes");
        let flagged = if red { len | SEALED_RED } else { len };
        self.w.write_all(&ts.to_be_bytes())?;
        self.w.write_all(&clock_rate.to_be_bytes())?;
        self.w.write_all(&flagged.to_be_bytes())?;
        self.w.write_all(data)?;
        self.frames += 1;
        if self.frames.is_multiple_of(PAGE_PACKETS) {
            // As for Ogg pages: a crash loses at most about a second.
            self.w.flush()?;
        }
        Ok(())
    }
}

impl FrameSink for SealedLog {
    fn frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> anyhow::Result<()> {
        self.write(ts, clock_rate, data, false)
    }

    /// Kept whole and flagged: its blocks are encrypted with it.
    fn red_frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> anyhow::Result<()> {
        self.write(ts, clock_rate, data, true)
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

/// Opus packets in an Ogg stream (RFC 7845). One packet is held back so the last one can
/// end the stream.
pub(crate) struct OggOpus {
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
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
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
}

impl FrameSink for OggOpus {
    fn frame(&mut self, ts: u32, _clock_rate: u32, data: &[u8]) -> anyhow::Result<()> {
        let first = *self.first_ts.get_or_insert(ts);
        // The granule position counts 48 kHz samples up to the end of the packet.
        let end = u64::from(ts.wrapping_sub(first)) + OPUS_PACKET_SAMPLES;
        if self.held.as_ref().is_some_and(|(_, g)| end <= *g) {
            return Ok(()); // late or repeated: the stream only moves forward
        }
        if let Some((data, granule)) = self.held.replace((data.to_vec(), end)) {
            self.packets += 1;
            let info = if self.packets.is_multiple_of(PAGE_PACKETS) {
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.w.write_packet(data, SERIAL, info, granule)?;
            if info == PacketWriteEndInfo::EndPage {
                // About once a second: a crash loses at most the last second of sound.
                self.w.inner_mut().flush()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        if let Some((data, granule)) = self.held.take() {
            self.w
                .write_packet(data, SERIAL, PacketWriteEndInfo::EndStream, granule)?;
        }
        self.w.inner_mut().flush()?;
        Ok(())
    }
}

/// VP8 frames in a WebM file, which starts at the first keyframe (its header gives the
/// picture size the file declares).
pub(crate) struct Vp8Webm {
    path: PathBuf,
    segment: Option<(webm::mux::Segment<FlushingFile>, VideoTrack)>,
    first_ts: Option<u32>,
    last_ns: Option<u64>,
}

impl Vp8Webm {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            segment: None,
            first_ts: None,
            last_ns: None,
        }
    }
}

impl FrameSink for Vp8Webm {
    fn frame(&mut self, ts: u32, clock_rate: u32, frame: &[u8]) -> anyhow::Result<()> {
        let keyframe = vp8_is_keyframe(frame);
        if self.segment.is_none() {
            if !keyframe {
                return Ok(());
            }
            let Some((w, h)) = vp8_size(frame) else {
                return Ok(());
            };
            let f = File::create(&self.path)
                .with_context(|| format!("cannot create {}", self.path.display()))?;
            let builder = SegmentBuilder::new(Writer::new(FlushingFile::new(f)))
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

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        if let Some((segment, _)) = self.segment {
            segment
                .finalize(None)
                .map_err(|_| anyhow::anyhow!("cannot finish {}", self.path.display()))?;
        }
        Ok(())
    }
}

/// A buffered file that hands what it buffered to the disk about once a second, as the Ogg
/// and sealed writers do: libwebm writes through it, and a crash then loses at most the last
/// second of video instead of whatever the buffer held.
pub(crate) struct FlushingFile {
    w: BufWriter<File>,
    flushed: std::time::Instant,
}

impl FlushingFile {
    fn new(f: File) -> Self {
        Self {
            w: BufWriter::new(f),
            flushed: std::time::Instant::now(),
        }
    }
}

impl Write for FlushingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        if self.flushed.elapsed() >= std::time::Duration::from_secs(1) {
            self.w.flush()?;
            self.flushed = std::time::Instant::now();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl std::io::Seek for FlushingFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.w.seek(pos)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_paths_stay_inside_their_folder() {
        let root = Path::new("/data/recordings");
        assert_eq!(
            inside(root, &["m-1", "2026-11-30T100000Z"]),
            Some(PathBuf::from("/data/recordings/m-1/2026-11-30T100000Z"))
        );
        for bad in ["..", ".", ".hidden", "", "a/b", "../x", "/abs", "a\\b"] {
            assert_eq!(inside(root, &[bad, "x"]), None, "{bad}");
        }
    }
}
