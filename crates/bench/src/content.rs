//! What the load generator replays: real VP8 and Opus made once by ffmpeg, cut into RTP payloads.
//!
//! Forwarding black frames costs a server almost nothing, so both servers get the same moving
//! 720p picture at about 1.5 Mbit/s and a 20 ms Opus stream; nothing is encoded while measuring.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// Largest RTP payload the generator sends, stamp included (fits any path MTU).
const MAX_PAYLOAD: usize = 1_100;
/// Bytes of the bench stamp at the end of every payload (see `stamp.rs`).
pub(crate) const STAMP_LEN: usize = super::stamp::STAMP_LEN;

/// One video frame, ready to send: its RTP payloads without the stamp.
pub(crate) struct VideoFrame {
    /// VP8 payload descriptor and partition bytes of each packet.
    pub(crate) packets: Vec<Vec<u8>>,
}

/// The pre-encoded media every publisher replays.
pub(crate) struct Content {
    /// Video frames at 30 frames/s, a keyframe every 2 s (the first frame is one).
    pub(crate) video: Vec<VideoFrame>,
    /// Opus packets of 20 ms.
    pub(crate) audio: Vec<Vec<u8>>,
    /// With simulcast: the 180p and 360p layers of the same picture, frame for frame (empty
    /// without simulcast).
    pub(crate) low_layers: Vec<Vec<VideoFrame>>,
}

/// The lower simulcast layers: size and bitrate, lowest first (the top one is the 720p).
pub(crate) const LOW_LAYERS: [(u32, u32, &str); 2] = [(320, 180, "150k"), (640, 360, "500k")];

/// Makes a 10 s, 30 frames/s VP8 test picture of `w` x `h` unless `out` exists (keyframes
/// every 2 s, at the same frames in every size).
fn make_video(out: &Path, w: u32, h: u32, rate: &str) -> anyhow::Result<()> {
    if out.exists() {
        return Ok(());
    }
    let src = format!("testsrc2=size={w}x{h}:rate=30");
    ffmpeg(
        out,
        &[
            "-f",
            "lavfi",
            "-i",
            &src,
            "-t",
            "10",
            "-c:v",
            "libvpx",
            "-b:v",
            rate,
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "60",
            "-keyint_min",
            "60",
        ],
    )
}

impl Content {
    /// Reads the content from `dir`, making it with ffmpeg first if it is not there; with
    /// `simulcast`, also the two lower layers (180p, 360p) of the same picture.
    pub(crate) fn load_or_make(dir: &Path, simulcast: bool) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let video = dir.join("video720.ivf");
        let audio = dir.join("audio.opus");
        make_video(&video, 1280, 720, "1500k")?;
        let mut low_layers = Vec::new();
        if simulcast {
            for (w, h, rate) in LOW_LAYERS {
                let file = dir.join(format!("video{h}.ivf"));
                make_video(&file, w, h, rate)?;
                let ivf = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let frames: Vec<VideoFrame> = parse_ivf(&ivf)?.into_iter().map(packetize).collect();
                if frames.is_empty() {
                    bail!("{} is empty; delete it to make it again", file.display());
                }
                low_layers.push(frames);
            }
        }
        if !audio.exists() {
            ffmpeg(
                &audio,
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=frequency=440:sample_rate=48000",
                    "-t",
                    "10",
                    "-c:a",
                    "libopus",
                    "-b:a",
                    "32k",
                    "-frame_duration",
                    "20",
                ],
            )?;
        }
        let ivf =
            std::fs::read(&video).with_context(|| format!("cannot read {}", video.display()))?;
        let ogg =
            std::fs::read(&audio).with_context(|| format!("cannot read {}", audio.display()))?;
        let content = Self {
            video: parse_ivf(&ivf)?.into_iter().map(packetize).collect(),
            audio: parse_ogg_opus(&ogg)?,
            low_layers,
        };
        if content.video.is_empty() || content.audio.is_empty() {
            bail!(
                "the bench content in {} is empty; delete it to make it again",
                dir.display()
            );
        }
        Ok(content)
    }

    /// Average video bitrate in bits per second (at 30 frames/s).
    pub(crate) fn video_bitrate(&self) -> u64 {
        let bytes: usize = self
            .video
            .iter()
            .flat_map(|f| &f.packets)
            .map(Vec::len)
            .sum();
        (bytes as u64 * 8 * 30) / self.video.len().max(1) as u64
    }

    /// Average video packets per second (at 30 frames/s).
    pub(crate) fn video_packet_rate(&self) -> u64 {
        let packets: usize = self.video.iter().map(|f| f.packets.len()).sum();
        (packets as u64 * 30) / self.video.len().max(1) as u64
    }
}

fn ffmpeg(out: &Path, args: &[&str]) -> anyhow::Result<()> {
    // Written beside, then renamed: an interrupted run never leaves half a file to replay.
    let partial: PathBuf = out.with_extension("partial");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-y", "-loglevel", "error"]).args(args);
    // The muxer follows the final name's extension.
    let format = match out.extension().and_then(|e| e.to_str()) {
        Some("ivf") => "ivf",
        _ => "ogg",
    };
    cmd.args(["-f", format]).arg(&partial);
    let status = cmd
        .status()
        .context("the bench makes its content with ffmpeg: install it (apt-get install ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg could not make {} ({status})", out.display());
    }
    std::fs::rename(&partial, out)?;
    Ok(())
}

/// The frames of an IVF file (32-byte header, then a 12-byte header before each frame).
pub(crate) fn parse_ivf(data: &[u8]) -> anyhow::Result<Vec<&[u8]>> {
    if data.get(..4) != Some(b"DKIF") {
        bail!("not an IVF file");
    }
    let header_len = data
        .get(6..8)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .unwrap_or(32);
    let mut frames = Vec::new();
    let mut at = header_len;
    while let Some(h) = data.get(at..at + 12) {
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let Some(frame) = data.get(at + 12..at + 12 + len) else {
            bail!("the IVF file ends inside a frame");
        };
        frames.push(frame);
        at += 12 + len;
    }
    Ok(frames)
}

/// Cuts one VP8 frame into RTP payloads (RFC 7741): a one-byte descriptor, S set on the first.
fn packetize(frame: &[u8]) -> VideoFrame {
    let room = MAX_PAYLOAD - 1 - STAMP_LEN;
    let packets = frame
        .chunks(room)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Vec::with_capacity(1 + chunk.len() + STAMP_LEN);
            p.push(if i == 0 { 0x10 } else { 0x00 });
            p.extend_from_slice(chunk);
            p
        })
        .collect();
    VideoFrame { packets }
}

/// The Opus packets of an Ogg Opus file, without its two header packets.
fn parse_ogg_opus(data: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(data));
    let mut packets = Vec::new();
    while let Some(p) = reader.read_packet().context("not an Ogg file")? {
        packets.push(p.data);
    }
    Ok(packets.into_iter().skip(2).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivf_frames_are_read_and_a_truncated_file_is_an_error() {
        let mut ivf = b"DKIF\0\0\x20\0VP80".to_vec();
        ivf.resize(32, 0);
        for len in [3u32, 2000] {
            ivf.extend_from_slice(&len.to_le_bytes());
            ivf.extend_from_slice(&[0; 8]);
            ivf.extend(std::iter::repeat_n(7u8, len as usize));
        }
        let frames = parse_ivf(&ivf).unwrap_or_default();
        assert_eq!(
            frames.iter().map(|f| f.len()).collect::<Vec<_>>(),
            [3, 2000]
        );
        let packets = packetize(frames[1]).packets;
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0][0], 0x10);
        assert_eq!(packets[1][0], 0x00);
        assert!(packets.iter().all(|p| p.len() + STAMP_LEN <= MAX_PAYLOAD));
        assert!(parse_ivf(&ivf[..ivf.len() - 1]).is_err());
        assert!(parse_ivf(b"RIFF").is_err());
    }
}
