//! What every recording file format takes: whole frames with their RTP timestamps.

use std::fs::File;
use std::io::{BufWriter, Write};

use crate::Result;

/// Receives whole frames (an Opus packet, a VP8 frame) with their RTP timestamp.
pub(crate) trait FrameSink {
    fn frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> Result<()>;
    /// A RED (RFC 2198) payload: its primary block, the codec's frame, is the one recorded
    /// (the redundant copies of earlier frames were recorded as those frames). One that does
    /// not parse is skipped.
    fn red_frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> Result<()> {
        match primary_of_red(data) {
            Some(primary) => self.frame(ts, clock_rate, primary),
            None => Ok(()),
        }
    }
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The last block of a RED payload (str0m's RFC 2198 parser, which bounds the work a hostile
/// payload can cause), or `None` if it does not parse.
pub(crate) fn primary_of_red(data: &[u8]) -> Option<&[u8]> {
    let blocks = str0m::rtp::RedDecoder::decode(data).ok()?;
    blocks.last().map(|b| b.payload)
}

/// A buffered file that hands what it buffered to the disk about once a second, as the Ogg
/// and sealed writers do: libwebm writes through it, and a crash then loses at most the last
/// second of video instead of whatever the buffer held.
pub(crate) struct FlushingFile {
    w: BufWriter<File>,
    flushed: std::time::Instant,
}

impl FlushingFile {
    pub(crate) fn new(f: File) -> Self {
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
