//! The bench's scenarios: who publishes what and who receives whom.

use super::peer::{Media, PeerSpec, QUIET_DBOV};

/// How many publishers speak at once (the first ones): their packets carry a speaker's level,
/// the others' a quiet room's.
pub(crate) const SPEAKERS: usize = 3;
/// A speaker's level, dBov.
const SPEAKING_DBOV: i8 = -20;

/// Whose microphones a server sends each receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hearing {
    /// Every publisher's (Janus's VideoRoom).
    Everyone,
    /// The loudest, in this many speaker slots (Summit's `--audio-slots`): the speakers, and
    /// anyone while there are fewer publishers than slots.
    Loudest(usize),
}

/// A fixed-size meeting to measure.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Short name (`--scenario`, JSON).
    pub(crate) name: &'static str,
    /// What each publisher sends.
    pub(crate) publishers: Vec<Media>,
    /// Whether publishers also receive everyone else (a meeting where all see all).
    pub(crate) publishers_receive: bool,
    /// Participants who only receive.
    pub(crate) listeners: usize,
    /// Receivers who join during the measuring window, within one second (a join storm): the
    /// window measures what their joins cost the media already flowing.
    pub(crate) storm: usize,
}

/// How long a join storm takes, from its first join to its last.
pub(crate) const STORM_SPREAD_MS: u64 = 1_000;
/// A storm's measuring window, whatever `--seconds` says: the storm (half a second in) and
/// the handshakes after it, not a long quiet stretch that would hide it in the percentiles.
pub(crate) const STORM_WINDOW_SECONDS: u64 = 4;

impl Scenario {
    /// The scenarios of a full run, in order.
    pub(crate) fn all() -> Vec<Self> {
        vec![
            Self {
                name: "1-to-50",
                publishers: vec![Media::AudioVideo],
                publishers_receive: false,
                listeners: 50,
                storm: 0,
            },
            Self {
                name: "12-party",
                publishers: vec![Media::AudioVideo; 12],
                publishers_receive: true,
                listeners: 0,
                storm: 0,
            },
            Self {
                name: "50-audio",
                publishers: vec![Media::Audio; 50],
                publishers_receive: false,
                listeners: 50,
                storm: 0,
            },
            Self {
                name: "join-storm",
                publishers: vec![Media::AudioVideo],
                publishers_receive: false,
                listeners: 10,
                storm: 20,
            },
        ]
    }

    /// One publisher of camera and microphone and `listeners` receivers (a ramp step).
    pub(crate) fn ramp(listeners: usize) -> Self {
        Self {
            name: "ramp",
            publishers: vec![Media::AudioVideo],
            publishers_receive: false,
            listeners,
            storm: 0,
        }
    }

    /// The storm's joiners: receivers numbered after everyone else.
    pub(crate) fn storm_peers(&self) -> Vec<PeerSpec> {
        let first = self.publishers.len() + self.listeners;
        (0..self.storm)
            .map(|i| PeerSpec {
                index: (first + i) as u32,
                publish: None,
                subscribe: true,
                level: QUIET_DBOV,
            })
            .collect()
    }

    /// (receiver, stream) pairs the storm's joiners receive once in.
    pub(crate) fn storm_pairs(&self, hearing: Hearing) -> usize {
        self.streams(hearing) * self.storm
    }

    /// The streams each receiver gets: every camera, and the microphones it hears.
    fn streams(&self, hearing: Hearing) -> usize {
        (0..self.publishers.len() * 2)
            .filter(|s| self.has_stream(*s, hearing))
            .count()
    }

    /// Whether publisher `i`'s microphone reaches the receivers.
    fn heard(&self, i: usize, hearing: Hearing) -> bool {
        match hearing {
            Hearing::Everyone => true,
            Hearing::Loudest(slots) => i < SPEAKERS.min(slots) || self.publishers.len() <= slots,
        }
    }

    /// Every simulated participant: publishers first (indices from 0), then listeners.
    pub(crate) fn peers(&self) -> Vec<PeerSpec> {
        let p = self.publishers.iter().enumerate().map(|(i, m)| PeerSpec {
            index: i as u32,
            publish: Some(*m),
            subscribe: self.publishers_receive,
            level: if i < SPEAKERS {
                SPEAKING_DBOV
            } else {
                QUIET_DBOV
            },
        });
        let l = (0..self.listeners).map(|i| PeerSpec {
            index: (self.publishers.len() + i) as u32,
            publish: None,
            subscribe: true,
            level: QUIET_DBOV,
        });
        p.chain(l).collect()
    }

    /// How many receivers each of publisher `i`'s streams reaches.
    pub(crate) fn fanout(&self) -> usize {
        self.listeners
            + if self.publishers_receive {
                self.publishers.len().saturating_sub(1)
            } else {
                0
            }
    }

    /// (receiver, stream) pairs that must flow before measuring.
    pub(crate) fn pairs(&self, hearing: Hearing) -> usize {
        self.streams(hearing) * self.fanout()
    }

    /// Whether `stream` (2 × publisher + 1 for video) belongs to this scenario and reaches
    /// the receivers.
    pub(crate) fn has_stream(&self, stream: usize, hearing: Hearing) -> bool {
        match self.publishers.get(stream / 2) {
            Some(_) if stream.is_multiple_of(2) => self.heard(stream / 2, hearing),
            Some(m) => *m == Media::AudioVideo,
            None => false,
        }
    }

    /// Packets that should have arrived, given what each stream sent in the window.
    pub(crate) fn expected(&self, sent: &[u64], hearing: Hearing) -> u64 {
        let per_stream: u64 = sent
            .iter()
            .enumerate()
            .filter(|(s, _)| self.has_stream(*s, hearing))
            .map(|(_, n)| n)
            .sum();
        per_stream * self.fanout() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Hearing = Hearing::Everyone;
    const LOUDEST: Hearing = Hearing::Loudest(3);

    #[test]
    fn fanout_and_pairs_follow_who_receives_whom() {
        let all = Scenario::all();
        assert_eq!((all[0].fanout(), all[0].pairs(ALL)), (50, 100));
        // One publisher is heard through the slots too.
        assert_eq!(all[0].pairs(LOUDEST), 100);
        // Twelve people each receive the other eleven's camera and microphone, or with speaker
        // slots the three speakers' microphones (a speaker hears the other two).
        assert_eq!((all[1].fanout(), all[1].pairs(ALL)), (11, 12 * 2 * 11));
        assert_eq!(all[1].pairs(LOUDEST), (12 + 3) * 11);
        assert_eq!((all[2].fanout(), all[2].pairs(ALL)), (50, 50 * 50));
        assert_eq!(all[2].pairs(LOUDEST), 3 * 50);
        assert_eq!(all[1].peers().iter().filter(|p| p.subscribe).count(), 12);
        assert_eq!(all[2].peers().len(), 100);
        // 50-audio has no video streams: a stray one is not expected anywhere.
        assert_eq!(all[2].expected(&[10, 99, 10], ALL), 2 * 10 * 50);
        // Only the speakers' microphones are expected through slots: streams 0, 2, 4.
        assert_eq!(
            all[2].expected(&[10, 0, 10, 0, 10, 0, 10], LOUDEST),
            3 * 10 * 50
        );
        // The storm's joiners are not in the window's fan-out: they come during it.
        assert_eq!(
            (all[3].fanout(), all[3].pairs(ALL), all[3].storm_pairs(ALL)),
            (10, 20, 40)
        );
        let storm = all[3].storm_peers();
        assert_eq!((storm[0].index, storm.len()), (11, 20));
    }
}
