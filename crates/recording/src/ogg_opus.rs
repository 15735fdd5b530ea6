//! Opus in Ogg (RFC 7845), with the `ogg` crate.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::sink::FrameSink;
use crate::{Error, Result};

/// Ogg pages end at least this often (packets), so a crash loses at most about a second.
const PAGE_PACKETS: u64 = 50;

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
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let f =
            File::create(path).map_err(Error::io(format!("cannot create {}", path.display())))?;
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
    fn frame(&mut self, ts: u32, _clock_rate: u32, data: &[u8]) -> Result<()> {
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

    fn finish(mut self: Box<Self>) -> Result<()> {
        if let Some((data, granule)) = self.held.take() {
            self.w
                .write_packet(data, SERIAL, PacketWriteEndInfo::EndStream, granule)?;
        }
        self.w.inner_mut().flush()?;
        Ok(())
    }
}
