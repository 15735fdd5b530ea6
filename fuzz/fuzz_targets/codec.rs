//! Video RTP payloads from anyone: keyframe checks answer without a panic, and VP8 renumbering
//! keeps each payload's length and changes nothing but the picture id and TL0PICIDX.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use summit_codec::{vp8_descriptor_len, VideoCodec, Vp8Numbering};

fuzz_target!(|data: &[u8]| {
    // The input is a run of packets, each [control, length, payload...]; control bit 0 switches
    // the stream to a new source before that packet.
    let mut numbering = Vp8Numbering::default();
    let mut switched = false;
    let mut rest = data;
    while let [control, len, tail @ ..] = rest {
        let (payload, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        for codec in [VideoCodec::Vp8, VideoCodec::H264, VideoCodec::Other] {
            let _ = codec.is_keyframe_start(payload);
        }
        if let Some(at) = vp8_descriptor_len(payload) {
            assert!(at <= payload.len());
        }
        if control & 1 != 0 {
            numbering.switch_source();
            switched = true;
        }
        let out = numbering.rewrite(&Arc::from(payload));
        assert_eq!(out.len(), payload.len());
        if !switched {
            assert_eq!(&*out, payload, "renumbered before any switch");
        }
        // The picture id (bytes 2-3) and TL0PICIDX (at most byte 4) are all that may change.
        for (i, (a, b)) in payload.iter().zip(out.iter()).enumerate() {
            assert!(a == b || (2..5).contains(&i), "byte {i} changed");
        }
    }
});
