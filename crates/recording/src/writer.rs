//! The recording thread: which meetings are recorded, who is who, and the file each track of
//! theirs goes to (a VP8 track reassembled from its packets first).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use summit_codec::{vp8_descriptor_len, vp8_frame_start};
use summit_proto::{MeetingName, ParticipantId, TrackSource};

use crate::ogg_opus::OggOpus;
use crate::sealed_log::SealedLog;
use crate::sink::FrameSink;
use crate::vp8_webm::Vp8Webm;
use crate::{Job, Packet, Result, ABOUT_FILE, KEYS_FILE};

/// The writer thread: runs until the handle is dropped, then finishes every file.
pub(crate) fn write_loop(root: &Path, rx: Receiver<Job>) {
    let mut w = Writers::default();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Start(m, sealed) => w.start(root, m, sealed),
            Job::Key(id, data) => w.key(id, data.as_str()),
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

    fn packet(&mut self, p: Packet) {
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

/// One recorded track: VP8 is reassembled from its packets; Opus packets are frames.
struct Track {
    vp8: Option<Vp8Assembler>,
    sink: Box<dyn FrameSink + Send>,
}

impl Track {
    fn create(dir: &Path, base: &str, audio: bool, sealed: bool) -> Result<Self> {
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

    fn packet(&mut self, p: &Packet) -> Result<()> {
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

    fn finish(self) -> Result<()> {
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
    fn push(&mut self, p: &Packet) -> Option<Vec<u8>> {
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
