//! Sealed logs: an end-to-end encrypted track's frames kept exactly as they came.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::sink::FrameSink;
use crate::{Error, Result};

/// The log goes to the disk at least this often (frames), so a crash loses about a second.
const PAGE_PACKETS: u64 = 50;

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
    pub(crate) fn create(path: &Path, audio: bool) -> Result<Self> {
        let f =
            File::create(path).map_err(Error::io(format!("cannot create {}", path.display())))?;
        let mut w = BufWriter::new(f);
        let kind = if audio { "audio" } else { "video" };
        w.write_all(format!("{SEALED_MAGIC}{kind}\n").as_bytes())?;
        Ok(Self { w, frames: 0 })
    }
}

impl SealedLog {
    fn write(&mut self, ts: u32, clock_rate: u32, data: &[u8], red: bool) -> Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| Error::invalid(format!("a frame of {} bytes", data.len())))?;
        if len >= SEALED_RED {
            return Err(Error::invalid(format!("a frame of {len} bytes")));
        }
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
    fn frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> Result<()> {
        self.write(ts, clock_rate, data, false)
    }

    /// Kept whole and flagged: its blocks are encrypted with it.
    fn red_frame(&mut self, ts: u32, clock_rate: u32, data: &[u8]) -> Result<()> {
        self.write(ts, clock_rate, data, true)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}
