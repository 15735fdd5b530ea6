//! Video RTP payloads from anyone: keyframe checks answer without a panic, VP8 renumbering
//! keeps each payload's length and changes nothing but the picture id and TL0PICIDX, and a
//! copy shared between streams is byte for byte what each would have made alone.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use summit_codec::{vp8_descriptor_len, VideoCodec, Vp8Numbering, Vp8Renumbered};

fuzz_target!(|data: &[u8]| {
    // The input is a run of packets, each [control, length, payload...]; control bit 0 switches
    // the stream to a new source before that packet, bit 1 a second stream (which shares copies
    // with the first through `Vp8Renumbered`, and is checked against a third renumbering alone).
    let mut numbering = Vp8Numbering::default();
    let mut second = Vp8Numbering::default();
    let mut alone = Vp8Numbering::default();
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
        if control & 2 != 0 {
            second.switch_source();
            alone.switch_source();
        }
        let payload_arc: Arc<[u8]> = Arc::from(payload);
        let mut shared = Vp8Renumbered::default();
        let out = numbering.rewrite_shared(&payload_arc, &mut shared);
        let out_second = second.rewrite_shared(&payload_arc, &mut shared);
        assert_eq!(
            *out_second,
            *alone.rewrite(&payload_arc),
            "a shared copy differs"
        );
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
