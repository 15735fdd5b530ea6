//! VP8 in WebM, with the `webm` crate (over libwebm).

use std::fs::File;
use std::path::PathBuf;

use summit_codec::vp8_is_keyframe;
use webm::mux::{SegmentBuilder, SegmentMode, VideoCodecId, VideoTrack, Writer};

use crate::sink::{FlushingFile, FrameSink};
use crate::{Error, Result};

/// WebM's time unit (libwebm's default timecode scale), in nanoseconds.
const TICK_NS: u64 = 1_000_000;

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
    fn frame(&mut self, ts: u32, clock_rate: u32, frame: &[u8]) -> Result<()> {
        let keyframe = vp8_is_keyframe(frame);
        if self.segment.is_none() {
            if !keyframe {
                return Ok(());
            }
            let Some((w, h)) = vp8_size(frame) else {
                return Ok(());
            };
            let f = File::create(&self.path)
                .map_err(Error::io(format!("cannot create {}", self.path.display())))?;
            let builder = SegmentBuilder::new(Writer::new(FlushingFile::new(f)))
                .and_then(|b| b.set_mode(SegmentMode::File))
                .and_then(|b| b.set_writing_app("Summit"))
                .map_err(|e| Error::invalid(format!("cannot start a WebM file: {e:?}")))?;
            let (builder, track) = builder
                .add_video_track(w, h, VideoCodecId::VP8, None)
                .map_err(|e| Error::invalid(format!("cannot add a WebM track: {e:?}")))?;
            self.segment = Some((builder.build(), track));
            self.first_ts = Some(ts);
        }
        let first = self.first_ts.unwrap_or(ts);
        let ticks = u64::from(ts.wrapping_sub(first));
        let ns = ticks * 1_000_000_000 / u64::from(clock_rate.max(1));
        // WebM counts in milliseconds (libwebm's default timecode scale), and each frame's
        // time must grow. A frame less than a millisecond after the one before (an encoder's
        // restart can send two so close) goes a millisecond later: dropped, it would leave
        // every frame that refers to it undecodable.
        let ns = frame_time(self.last_ns, ns);
        self.last_ns = Some(ns);
        if let Some((segment, track)) = &mut self.segment {
            segment
                .add_frame(*track, frame, ns, keyframe)
                .map_err(|e| Error::invalid(format!("cannot write a WebM frame: {e:?}")))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        if let Some((segment, _)) = self.segment {
            segment
                .finalize(None)
                .map_err(|_| Error::invalid(format!("cannot finish {}", self.path.display())))?;
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

/// A frame's time in the file: its own, or a millisecond after the last frame's if it would
/// not come after it in WebM's millisecond units.
fn frame_time(last: Option<u64>, ns: u64) -> u64 {
    match last {
        Some(l) if ns < l + TICK_NS => l + TICK_NS,
        _ => ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_grow_by_at_least_a_millisecond() {
        assert_eq!(frame_time(None, 5), 5);
        assert_eq!(frame_time(Some(33_000_000), 66_000_000), 66_000_000);
        // Half a millisecond later, or earlier: a millisecond after the last.
        assert_eq!(frame_time(Some(96_000_000), 96_500_000), 97_000_000);
        assert_eq!(frame_time(Some(96_000_000), 90_000_000), 97_000_000);
    }
}
