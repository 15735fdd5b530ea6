//! The core names every event of the meeting record, in the order it decides them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use summit_core::SfuEvent;
use summit_proto::RecordEvent;
use summit_proto::{MeetingMessage, Role};
use summit_testkit::Harness;

fn described(h: &Harness) -> Vec<String> {
    h.events
        .iter()
        .filter_map(|e| match e {
            SfuEvent::Record(m, r) => {
                assert_eq!(m.as_str(), "m");
                Some(r.describe())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_meeting_is_recorded_from_start_to_end() {
    let mut h = Harness::new(21);
    h.skip_lobby = false;
    let host = h.join_as("m", "Host", Role::Host);
    let guest = h.enter("m", "Guest", Role::Delegate);
    let gid = h.clients[guest].id;
    h.send(host, MeetingMessage::Admit { participant: gid })
        .unwrap();
    let late = h.enter("m", "Late", Role::Delegate);
    let lid = h.clients[late].id;
    h.send(host, MeetingMessage::Deny { participant: lid })
        .unwrap();
    h.send(host, MeetingMessage::Lock { locked: true }).unwrap();
    h.send(host, MeetingMessage::MuteParticipant { participant: gid })
        .unwrap();
    h.send(host, MeetingMessage::Lock { locked: false })
        .unwrap();
    h.skip_lobby = true;
    let anna = h.join_interpreter("m", "Anna", "ru-zh");
    h.send(anna, MeetingMessage::TakeMic {}).unwrap();
    h.send(host, MeetingMessage::Remove { participant: gid })
        .unwrap();
    h.send(host, MeetingMessage::EndMeeting {}).unwrap();
    let (host_id, anna_id) = (h.clients[host].id.0, h.clients[anna].id.0);
    let gid = gid.0;
    assert_eq!(
        described(&h),
        [
            "The meeting started.".to_owned(),
            format!("Host (host, #{host_id}) joined with invitation inv-Host."),
            "Host admitted Guest.".into(),
            format!("Guest (delegate, #{gid}) joined with invitation inv-Guest."),
            "Host denied Late entry (invitation inv-Late may not wait again).".into(),
            "Host locked the meeting.".into(),
            "Host muted Guest.".into(),
            "Host unlocked the meeting.".into(),
            format!("Anna (interpreter, #{anna_id}) joined with invitation inv-Anna."),
            "Anna took the ru-zh booth's microphone.".into(),
            "Host removed Guest.".into(),
            format!("Guest (#{gid}) left: Host removed you from the meeting."),
            format!("Host (#{host_id}) left: Host ended the meeting."),
            format!("Anna (#{anna_id}) left: Host ended the meeting."),
            "The ru-zh booth's microphone is free.".into(),
            "The meeting ended: Host ended the meeting.".into(),
        ]
    );
    // The typed form carries the ids and roles, not just words.
    assert!(h.events.iter().any(|e| matches!(e,
        SfuEvent::Record(_, RecordEvent::Joined { role, participant, .. }) if role == "interpreter" && *participant == anna_id)));
}

#[test]
fn the_recording_writer_is_told_when_to_start_and_stop_and_who_is_who() {
    use summit_core::RecordingControl as C;
    use summit_proto::MeetingName;
    let mut h = Harness::new(23);
    let host = h.join_as("m", "Host", Role::Host);
    let a = h.join("m", "A");
    h.send(host, MeetingMessage::StartRecording {}).unwrap();
    h.send(a, MeetingMessage::Leave {}).unwrap();
    h.send(host, MeetingMessage::StopRecording {}).unwrap();
    let m = MeetingName::parse("m").unwrap();
    let (host, a) = (h.clients[host].id, h.clients[a].id);
    assert_eq!(
        h.recording_controls,
        vec![
            C::Name {
                participant: host,
                meeting: m.clone(),
                name: "Host".into()
            },
            C::Name {
                participant: a,
                meeting: m.clone(),
                name: "A".into()
            },
            C::Start {
                meeting: m.clone(),
                sealed: false
            },
            C::Forget(a),
            C::Stop(m),
        ]
    );
}

#[test]
fn packets_go_to_the_recording_only_while_it_runs_and_never_in_an_encrypted_meeting() {
    use std::time::Duration;
    use summit_core::SfuError;
    use summit_proto::{ServerMessage, TrackSource};
    let mut h = Harness::new(22);
    let host = h.join_as("m", "Host", Role::Host);
    let a = h.join("m", "A");
    h.run(Duration::from_secs(1));
    assert!(h.recorded.is_empty());
    h.send(host, MeetingMessage::StartRecording {}).unwrap();
    assert!(h
        .messages_to(a)
        .iter()
        .any(|m| matches!(m, ServerMessage::Recording { on: true, by } if by == "Host")));
    // Someone who enters now is told, and recorded too.
    let late = h.join("m", "Late");
    assert!(h.messages_to(late).iter().any(|m| matches!(
        m,
        ServerMessage::Welcome {
            recording: true,
            ..
        }
    )));
    h.run(Duration::from_secs(1));
    let late_id = h.clients[late].id;
    for (who, source) in [
        (h.clients[a].id, TrackSource::Microphone),
        (h.clients[a].id, TrackSource::Camera),
        (late_id, TrackSource::Microphone),
    ] {
        let n = h
            .recorded
            .iter()
            .filter(|(p, s, _)| *p == who && *s == source)
            .count();
        assert!(n > 10, "{who} {source:?}: {n}");
    }
    h.send(host, MeetingMessage::StopRecording {}).unwrap();
    let stopped = h.recorded.len();
    h.run(Duration::from_secs(1));
    assert_eq!(h.recorded.len(), stopped);
    // Only hosts record; an encrypted meeting is never recorded in the clear.
    assert!(matches!(
        h.send(a, MeetingMessage::StartRecording {}),
        Err(SfuError::NotAllowed(_))
    ));
    let mut e = Harness::new(23);
    e.e2ee = true;
    let host = e.join_as("m", "Host", Role::Host);
    assert!(matches!(
        e.send(host, MeetingMessage::StartRecording {}),
        Err(SfuError::NotAllowed(_))
    ));
}

#[test]
fn hosts_hear_of_a_recording_the_last_run_left_running_until_one_starts_it_again() {
    use summit_proto::ServerMessage;
    let mut h = Harness::with_config(23, |c| {
        c.interrupted_recordings.insert("m".parse().unwrap());
    });
    let cut = |h: &Harness, i: usize| {
        h.messages_to(i).iter().rev().find_map(|m| match m {
            ServerMessage::Welcome {
                recording_interrupted,
                ..
            } => Some(*recording_interrupted),
            _ => None,
        })
    };
    let host = h.join_as("m", "Host", Role::Host);
    let guest = h.join("m", "Guest");
    assert_eq!(cut(&h, host), Some(true), "the host is told");
    assert_eq!(cut(&h, guest), Some(false), "only hosts are");
    // Another meeting's hosts hear nothing of it.
    let other = h.join_as("n", "Other host", Role::Host);
    assert_eq!(cut(&h, other), Some(false));
    // Once a host starts recording again, hosts joining later are not told.
    h.send(host, MeetingMessage::StartRecording {}).unwrap();
    let late = h.join_as("m", "Late host", Role::Host);
    assert_eq!(cut(&h, late), Some(false));
}

#[test]
fn a_cut_recording_is_news_for_the_first_meeting_after_the_restart_only() {
    use summit_proto::ServerMessage;
    let mut h = Harness::with_config(24, |c| {
        c.interrupted_recordings.insert("m".parse().unwrap());
    });
    let first = h.join_as("m", "Host", Role::Host);
    h.leave(first);
    // The meeting emptied and ended: the next one starts afresh.
    let again = h.join_as("m", "Host again", Role::Host);
    let told = h.messages_to(again).iter().any(|m| {
        matches!(
            m,
            ServerMessage::Welcome {
                recording_interrupted: true,
                ..
            }
        )
    });
    assert!(!told);
}
