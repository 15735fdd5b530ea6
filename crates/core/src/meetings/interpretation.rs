//! Interpretation as policy: a meeting's language channels, the interpreter booths that feed
//! them and each booth's microphone lease, and what each participant hears. A plain state
//! machine (no media, no clock): the SFU asks it where an audio track goes and drains its
//! events to switch forwarders and tell pages. The mechanism that acts on it is in
//! `channels.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use summit_proto::{
    BoothInfo, ChannelInfo, InterpretationState, Language, LanguagePair, ParticipantId,
};

/// Why an interpretation request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterpretationError {
    /// The meeting has no channel for this language.
    #[error("this meeting has no {0} channel")]
    NoChannel(Language),
    /// The participant is not an interpreter of this meeting.
    #[error("only interpreters work in a booth")]
    NotInterpreter,
    /// The language is not one of the interpreter's pair.
    #[error("your invitation is for {0}; you cannot speak into another channel")]
    NotYourPair(LanguagePair),
    /// Another booth partner holds the microphone.
    #[error("your booth partner holds the microphone")]
    LeaseHeld(ParticipantId),
    /// The request needs the lease, which the participant does not hold.
    #[error("you do not hold the microphone")]
    NotHolder,
    /// A handover to someone who is not in the same booth.
    #[error("you can hand over only to your booth partner")]
    NotPartner,
}

/// What a participant hears besides the floor: nothing more, or one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hearing {
    /// The original sound only.
    Floor,
    /// One channel's interpretation (with the floor under it, mixed by the page).
    Channel(Language),
}

/// How one participant's microphone reaches another, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioRoute {
    /// Everyone's original sound.
    Floor,
    /// As the current source of a channel the listener picked.
    Channel(Language),
    /// Between booth partners only.
    BoothLine,
}

/// What changed, for the runtime to act on and tell pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpretationEvent {
    /// A booth's microphone lease changed hands (or became free).
    LeaseChanged {
        /// The booth.
        booth: LanguagePair,
        /// Who holds it now.
        holder: Option<ParticipantId>,
    },
    /// A channel's sound now comes from another interpreter (or from none).
    ChannelSource {
        /// The channel.
        language: Language,
        /// Whose microphone feeds it now.
        source: Option<ParticipantId>,
    },
}

/// Interpreters who share one language pair: one microphone between them.
#[derive(Debug)]
struct Booth {
    members: Vec<ParticipantId>,
    holder: Option<ParticipantId>,
    /// The channel the booth speaks into now (one click switches it).
    into: Language,
    /// When it last started feeding its channel; the latest booth wins a shared channel.
    activated: u64,
}

/// The interpretation state of one meeting.
#[derive(Debug, Default)]
pub struct Interpretation {
    languages: BTreeSet<Language>,
    booths: BTreeMap<LanguagePair, Booth>,
    interpreters: BTreeMap<ParticipantId, LanguagePair>,
    /// Channel picked per participant; absent means the floor.
    hearing: BTreeMap<ParticipantId, Language>,
    /// The source each channel had when last reported.
    reported: BTreeMap<Language, ParticipantId>,
    events: VecDeque<InterpretationEvent>,
    clock: u64,
}

impl Interpretation {
    /// A meeting with these channels.
    pub fn new(languages: impl IntoIterator<Item = Language>) -> Self {
        Self {
            languages: languages.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Adds a channel (a host, during the meeting); false if it existed.
    pub fn add_language(&mut self, l: Language) -> bool {
        self.languages.insert(l)
    }

    /// The channels, in order.
    pub fn languages(&self) -> impl Iterator<Item = &Language> {
        self.languages.iter()
    }

    /// An interpreter enters with the pair their invitation names; both languages must be
    /// channels. They start in their pair's booth, speaking into its second language.
    pub fn join_interpreter(
        &mut self,
        id: ParticipantId,
        pair: LanguagePair,
    ) -> Result<(), InterpretationError> {
        for l in [&pair.a, &pair.b] {
            if !self.languages.contains(l) {
                return Err(InterpretationError::NoChannel(l.clone()));
            }
        }
        let booth = self.booths.entry(pair.clone()).or_insert_with(|| Booth {
            members: Vec::new(),
            holder: None,
            into: pair.b.clone(),
            activated: 0,
        });
        if !booth.members.contains(&id) {
            booth.members.push(id);
        }
        self.interpreters.insert(id, pair);
        Ok(())
    }

    /// Someone left the meeting: out of their booth (the lease returns) and their channel.
    pub fn leave(&mut self, id: ParticipantId) {
        self.dropped(id);
        self.hearing.remove(&id);
        if let Some(pair) = self.interpreters.remove(&id) {
            if let Some(b) = self.booths.get_mut(&pair) {
                b.members.retain(|m| *m != id);
                if b.members.is_empty() {
                    self.booths.remove(&pair);
                }
            }
        }
        self.report_sources();
    }

    /// Someone's connection dropped (closed, or heartbeats missed): a lease they held returns
    /// at once, so their partner can take it. They stay in the booth in case they resume.
    pub fn dropped(&mut self, id: ParticipantId) {
        let Some(pair) = self.interpreters.get(&id).cloned() else {
            return;
        };
        if let Some(b) = self.booths.get_mut(&pair) {
            if b.holder == Some(id) {
                b.holder = None;
                self.lease_changed(pair, None);
            }
        }
    }

    /// An interpreter takes their booth's microphone, if no partner holds it.
    pub fn take(&mut self, id: ParticipantId) -> Result<(), InterpretationError> {
        let (pair, b, clock) = self.booth_of(id)?;
        match b.holder {
            Some(h) if h == id => return Ok(()),
            Some(h) => return Err(InterpretationError::LeaseHeld(h)),
            None => {}
        }
        b.holder = Some(id);
        *clock += 1;
        b.activated = *clock;
        self.lease_changed(pair, Some(id));
        Ok(())
    }

    /// The holder gives the microphone to a booth partner, at once.
    pub fn hand_over(
        &mut self,
        id: ParticipantId,
        to: ParticipantId,
    ) -> Result<(), InterpretationError> {
        let (pair, b, _) = self.booth_of(id)?;
        if b.holder != Some(id) {
            return Err(InterpretationError::NotHolder);
        }
        if to == id || !b.members.contains(&to) {
            return Err(InterpretationError::NotPartner);
        }
        b.holder = Some(to);
        self.lease_changed(pair, Some(to));
        Ok(())
    }

    /// The holder lets go of the microphone.
    pub fn release(&mut self, id: ParticipantId) -> Result<(), InterpretationError> {
        let (pair, b, _) = self.booth_of(id)?;
        if b.holder != Some(id) {
            return Err(InterpretationError::NotHolder);
        }
        b.holder = None;
        self.lease_changed(pair, None);
        Ok(())
    }

    /// The booth switches direction: it now speaks into `into`, one of its pair. The holder
    /// switches (or anyone in the booth while no one holds the microphone).
    pub fn set_direction(
        &mut self,
        id: ParticipantId,
        into: Language,
    ) -> Result<(), InterpretationError> {
        let (pair, b, clock) = self.booth_of(id)?;
        if !pair.has(&into) {
            return Err(InterpretationError::NotYourPair(pair));
        }
        if b.holder.is_some_and(|h| h != id) {
            return Err(InterpretationError::NotHolder);
        }
        if b.into != into {
            b.into = into;
            *clock += 1;
            b.activated = *clock;
        }
        self.report_sources();
        Ok(())
    }

    /// A participant picks what they hear: the floor, or a channel over it. Interpreters pick
    /// too: the floor, or another channel for relay interpretation.
    pub fn listen(
        &mut self,
        id: ParticipantId,
        hearing: Hearing,
    ) -> Result<(), InterpretationError> {
        match hearing {
            Hearing::Floor => {
                self.hearing.remove(&id);
            }
            Hearing::Channel(l) => {
                if !self.languages.contains(&l) {
                    return Err(InterpretationError::NoChannel(l));
                }
                self.hearing.insert(id, l);
            }
        }
        Ok(())
    }

    /// What a participant hears now.
    pub fn hearing(&self, id: ParticipantId) -> Hearing {
        self.hearing
            .get(&id)
            .map_or(Hearing::Floor, |l| Hearing::Channel(l.clone()))
    }

    /// Whose microphone feeds a channel now: the holder of the booth that speaks into it
    /// (the most recently active, if two booths do).
    pub fn channel_source(&self, l: &Language) -> Option<ParticipantId> {
        self.booths
            .values()
            .filter(|b| &b.into == l && b.holder.is_some())
            .max_by_key(|b| b.activated)
            .and_then(|b| b.holder)
    }

    /// Who holds each booth's microphone, for hosts.
    pub fn leases(&self) -> impl Iterator<Item = (&LanguagePair, Option<ParticipantId>)> {
        self.booths.iter().map(|(p, b)| (p, b.holder))
    }

    /// Whether `id` is an interpreter (their microphone never reaches the floor).
    pub fn is_interpreter(&self, id: ParticipantId) -> bool {
        self.interpreters.contains_key(&id)
    }

    /// How `publisher`'s microphone reaches `listener`, if at all. Interpreters are never on
    /// the floor; a listener gets a channel's sound only from that channel's current source
    /// and only for the one channel they picked; booth partners hear each other directly.
    pub fn route(&self, publisher: ParticipantId, listener: ParticipantId) -> Option<AudioRoute> {
        if publisher == listener {
            return None;
        }
        let Some(pair) = self.interpreters.get(&publisher) else {
            return Some(AudioRoute::Floor);
        };
        if self.interpreters.get(&listener) == Some(pair) {
            return Some(AudioRoute::BoothLine);
        }
        let picked = self.hearing.get(&listener)?;
        (self.channel_source(picked) == Some(publisher))
            .then(|| AudioRoute::Channel(picked.clone()))
    }

    /// Whether the meeting has any channel (otherwise pages show no interpretation controls).
    pub fn is_active(&self) -> bool {
        !self.languages.is_empty()
    }

    /// The state as `id` sees it: every channel, booth and holder, and what `id` hears.
    pub fn state(&self, id: ParticipantId) -> InterpretationState {
        InterpretationState {
            languages: self.languages.iter().cloned().collect(),
            booths: self
                .booths
                .iter()
                .map(|(pair, b)| BoothInfo {
                    pair: pair.clone(),
                    into: b.into.clone(),
                    interpreters: b.members.clone(),
                    holder: b.holder,
                })
                .collect(),
            channels: self
                .languages
                .iter()
                .map(|l| ChannelInfo {
                    language: l.clone(),
                    source: self.channel_source(l),
                })
                .collect(),
            hearing: self.hearing.get(&id).cloned(),
        }
    }

    /// The next change to act on.
    pub fn poll_event(&mut self) -> Option<InterpretationEvent> {
        self.events.pop_front()
    }

    fn booth_of(
        &mut self,
        id: ParticipantId,
    ) -> Result<(LanguagePair, &mut Booth, &mut u64), InterpretationError> {
        let pair = self
            .interpreters
            .get(&id)
            .ok_or(InterpretationError::NotInterpreter)?
            .clone();
        let b = self
            .booths
            .get_mut(&pair)
            .ok_or(InterpretationError::NotInterpreter)?;
        Ok((pair, b, &mut self.clock))
    }

    /// Tells of a booth's new holder, and of the channel sources that moved with it.
    fn lease_changed(&mut self, booth: LanguagePair, holder: Option<ParticipantId>) {
        self.events
            .push_back(InterpretationEvent::LeaseChanged { booth, holder });
        self.report_sources();
    }

    /// Emits `ChannelSource` for every channel whose source changed since last reported.
    fn report_sources(&mut self) {
        let langs: Vec<Language> = self.languages.iter().cloned().collect();
        for l in langs {
            let now = self.channel_source(&l);
            if self.reported.get(&l).copied() != now {
                match now {
                    Some(s) => self.reported.insert(l.clone(), s),
                    None => self.reported.remove(&l),
                };
                self.events.push_back(InterpretationEvent::ChannelSource {
                    language: l,
                    source: now,
                });
            }
        }
    }
}
