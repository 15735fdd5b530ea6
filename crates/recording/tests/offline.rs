//! The crate on its own, as an offline tool would use it: a recording written from packets,
//! with no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use summit_proto::{MeetingName, ParticipantId, TrackSource};
use summit_recording::{Packet, Recordings, ABOUT_FILE};

#[test]
fn packets_become_an_ogg_file_and_a_described_folder() {
    let root = std::env::temp_dir().join(format!("summit-recording-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let meeting = MeetingName::parse("offline").unwrap();
    let ada = ParticipantId(7);
    let mut r = Recordings::spawn(root.clone()).unwrap();
    r.start(meeting.clone(), false);
    r.name(ada, meeting.clone(), "Ada Lovelace".into());
    for i in 0..100u32 {
        r.packet(Packet {
            publisher: ada,
            source: TrackSource::Microphone,
            seq: u64::from(i),
            timestamp: i * 960,
            clock_rate: 48_000,
            marker: false,
            red: false,
            payload: Arc::from(vec![0xfc, i as u8, 1, 2, 3].as_slice()),
        });
    }
    r.stop(meeting);
    r.finish();
    // One folder per recording, under the meeting's.
    let dirs: Vec<_> = std::fs::read_dir(root.join("offline"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let about = std::fs::read_to_string(dirs[0].join(ABOUT_FILE)).unwrap();
    assert!(about.contains("\"offline\""), "{about}");
    let ogg: Vec<_> = std::fs::read_dir(&dirs[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ogg"))
        .collect();
    assert_eq!(
        ogg.len(),
        1,
        "{:?}",
        std::fs::read_dir(&dirs[0]).unwrap().collect::<Vec<_>>()
    );
    let name = ogg[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains("Ada_Lovelace") && name.contains("microphone"),
        "{name}"
    );
    let bytes = std::fs::read(&ogg[0]).unwrap();
    assert!(bytes.starts_with(b"OggS"));
    // Every packet is in it (each Opus packet's bytes appear in its Ogg page).
    assert!(bytes.windows(5).any(|w| w == [0xfc, 99, 1, 2, 3]));
    std::fs::remove_dir_all(&root).unwrap();
}
