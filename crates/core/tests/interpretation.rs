//! Interpretation policy: channels, booths, the microphone lease, and who hears whom.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use summit_core::{AudioRoute, Hearing, Interpretation, InterpretationError, InterpretationEvent};
use summit_proto::{Language, LanguagePair, ParticipantId};

fn l(s: &str) -> Language {
    Language::parse(s).unwrap()
}

fn pair(s: &str) -> LanguagePair {
    LanguagePair::parse(s).unwrap()
}

const RU_SPEAKER: ParticipantId = ParticipantId(1);
const ZH_SPEAKER: ParticipantId = ParticipantId(2);
const ANNA: ParticipantId = ParticipantId(10); // interpreter ru-zh
const BO: ParticipantId = ParticipantId(11); // her booth partner
const LISTENER_ZH: ParticipantId = ParticipantId(20);
const LISTENER_EN: ParticipantId = ParticipantId(21);
const LISTENER_FLOOR: ParticipantId = ParticipantId(22);

fn events(i: &mut Interpretation) -> Vec<InterpretationEvent> {
    std::iter::from_fn(|| i.poll_event()).collect()
}

/// A bilingual meeting with English too: Anna and Bo in the ru-zh booth.
fn meeting() -> Interpretation {
    let mut i = Interpretation::new([l("ru"), l("zh"), l("en")]);
    i.join_interpreter(ANNA, pair("ru-zh")).unwrap();
    i.join_interpreter(BO, pair("ru-zh")).unwrap();
    i.listen(LISTENER_ZH, Hearing::Channel(l("zh"))).unwrap();
    i.listen(LISTENER_EN, Hearing::Channel(l("en"))).unwrap();
    i
}

#[test]
fn a_listener_hears_the_floor_and_only_the_channel_they_picked() {
    let mut i = meeting();
    i.take(ANNA).unwrap();
    assert_eq!(i.channel_source(&l("zh")), Some(ANNA));
    // Delegates are on the floor for everyone; the interpreter never is.
    for who in [LISTENER_ZH, LISTENER_EN, LISTENER_FLOOR, ANNA] {
        assert_eq!(i.route(RU_SPEAKER, who), Some(AudioRoute::Floor));
    }
    assert_eq!(
        i.route(ANNA, LISTENER_ZH),
        Some(AudioRoute::Channel(l("zh")))
    );
    assert_eq!(
        i.route(ANNA, LISTENER_EN),
        None,
        "an English listener gets no Chinese"
    );
    assert_eq!(
        i.route(ANNA, LISTENER_FLOOR),
        None,
        "interpreters are never on the floor"
    );
    assert_eq!(i.route(ANNA, RU_SPEAKER), None);
    // Partners hear each other on the booth line, whoever holds the microphone.
    assert_eq!(i.route(ANNA, BO), Some(AudioRoute::BoothLine));
    assert_eq!(i.route(BO, ANNA), Some(AudioRoute::BoothLine));
    assert_eq!(
        i.route(BO, LISTENER_ZH),
        None,
        "not the holder: nobody hears Bo"
    );
}

#[test]
fn one_microphone_per_booth_and_a_handover_switches_the_channel_at_once() {
    let mut i = meeting();
    i.take(ANNA).unwrap();
    assert_eq!(i.take(BO), Err(InterpretationError::LeaseHeld(ANNA)));
    assert_eq!(i.hand_over(BO, ANNA), Err(InterpretationError::NotHolder));
    events(&mut i);
    i.hand_over(ANNA, BO).unwrap();
    // The switch is in the same step: the listener's route moves from Anna to Bo.
    assert_eq!(
        events(&mut i),
        vec![
            InterpretationEvent::LeaseChanged {
                booth: pair("ru-zh"),
                holder: Some(BO)
            },
            InterpretationEvent::ChannelSource {
                language: l("zh"),
                source: Some(BO)
            },
        ]
    );
    assert_eq!(i.route(BO, LISTENER_ZH), Some(AudioRoute::Channel(l("zh"))));
    assert_eq!(i.route(ANNA, LISTENER_ZH), None);
    assert_eq!(
        i.hand_over(BO, LISTENER_ZH),
        Err(InterpretationError::NotPartner)
    );
    assert_eq!(
        i.leases().collect::<Vec<_>>(),
        vec![(&pair("ru-zh"), Some(BO))]
    );
}

#[test]
fn the_lease_returns_when_the_holder_drops_and_the_partner_takes_it() {
    let mut i = meeting();
    i.take(ANNA).unwrap();
    events(&mut i);
    i.dropped(ANNA);
    assert_eq!(
        events(&mut i),
        vec![
            InterpretationEvent::LeaseChanged {
                booth: pair("ru-zh"),
                holder: None
            },
            InterpretationEvent::ChannelSource {
                language: l("zh"),
                source: None
            },
        ]
    );
    i.take(BO).unwrap();
    assert_eq!(i.channel_source(&l("zh")), Some(BO));
    // Anna comes back: still in the booth, and Bo keeps the microphone.
    assert_eq!(i.take(ANNA), Err(InterpretationError::LeaseHeld(BO)));
    // Bo leaves for good: the lease is free, his place in the booth gone.
    i.leave(BO);
    assert_eq!(i.channel_source(&l("zh")), None);
    i.take(ANNA).unwrap();
    assert_eq!(
        i.route(ANNA, LISTENER_ZH),
        Some(AudioRoute::Channel(l("zh")))
    );
}

#[test]
fn one_click_switches_the_direction_within_the_pair_only() {
    let mut i = meeting();
    i.listen(LISTENER_FLOOR, Hearing::Channel(l("ru"))).unwrap();
    i.take(ANNA).unwrap();
    assert_eq!(i.channel_source(&l("zh")), Some(ANNA));
    i.set_direction(ANNA, l("ru")).unwrap();
    assert_eq!(i.channel_source(&l("zh")), None);
    assert_eq!(i.channel_source(&l("ru")), Some(ANNA));
    assert_eq!(
        i.route(ANNA, LISTENER_FLOOR),
        Some(AudioRoute::Channel(l("ru")))
    );
    assert_eq!(i.route(ANNA, LISTENER_ZH), None);
    // Not onto a channel outside her invitation, and not by the partner without the lease.
    assert_eq!(
        i.set_direction(ANNA, l("en")),
        Err(InterpretationError::NotYourPair(pair("ru-zh")))
    );
    assert_eq!(
        i.set_direction(BO, l("zh")),
        Err(InterpretationError::NotHolder)
    );
    // Delegates have no booth at all.
    assert_eq!(i.take(ZH_SPEAKER), Err(InterpretationError::NotInterpreter));
    assert_eq!(
        i.set_direction(ZH_SPEAKER, l("ru")),
        Err(InterpretationError::NotInterpreter)
    );
}

#[test]
fn relay_interpretation_and_listeners_switching_channels() {
    // Carla works zh-en from Anna's Chinese: she listens to the zh channel, not the floor.
    const CARLA: ParticipantId = ParticipantId(12);
    let mut i = meeting();
    i.join_interpreter(CARLA, pair("zh-en")).unwrap();
    i.set_direction(CARLA, l("en")).unwrap();
    i.take(ANNA).unwrap();
    i.take(CARLA).unwrap();
    i.listen(CARLA, Hearing::Channel(l("zh"))).unwrap();
    assert_eq!(i.route(ANNA, CARLA), Some(AudioRoute::Channel(l("zh"))));
    assert_eq!(
        i.route(CARLA, LISTENER_EN),
        Some(AudioRoute::Channel(l("en")))
    );
    assert_eq!(i.route(CARLA, LISTENER_ZH), None);
    // The English listener switches to Chinese: Anna instead of Carla, never both.
    i.listen(LISTENER_EN, Hearing::Channel(l("zh"))).unwrap();
    assert_eq!(i.route(CARLA, LISTENER_EN), None);
    assert_eq!(
        i.route(ANNA, LISTENER_EN),
        Some(AudioRoute::Channel(l("zh")))
    );
    i.listen(LISTENER_EN, Hearing::Floor).unwrap();
    assert_eq!(i.hearing(LISTENER_EN), Hearing::Floor);
    assert_eq!(i.route(ANNA, LISTENER_EN), None);
    assert_eq!(
        i.listen(LISTENER_EN, Hearing::Channel(l("fr"))),
        Err(InterpretationError::NoChannel(l("fr")))
    );
}

#[test]
fn channels_come_from_the_meeting_or_the_host() {
    let mut i = Interpretation::new([l("ru"), l("zh")]);
    assert_eq!(
        i.join_interpreter(ParticipantId(5), pair("zh-en")),
        Err(InterpretationError::NoChannel(l("en")))
    );
    assert!(i.add_language(l("en")));
    assert!(!i.add_language(l("en")));
    i.join_interpreter(ParticipantId(5), pair("zh-en")).unwrap();
    assert_eq!(
        i.languages().map(Language::as_str).collect::<Vec<_>>(),
        ["en", "ru", "zh"]
    );
}
