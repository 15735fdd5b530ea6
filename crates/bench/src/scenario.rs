//! The bench's scenarios: who publishes what and who receives whom.

use super::peer::{Media, PeerSpec};

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

fn streams(m: Media) -> usize {
    match m {
        Media::Audio => 1,
        Media::AudioVideo => 2,
    }
}

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
            })
            .collect()
    }

    /// (receiver, stream) pairs the storm's joiners receive once in.
    pub(crate) fn storm_pairs(&self) -> usize {
        self.publishers.iter().map(|m| streams(*m)).sum::<usize>() * self.storm
    }

    /// Every simulated participant: publishers first (indices from 0), then listeners.
    pub(crate) fn peers(&self) -> Vec<PeerSpec> {
        let p = self.publishers.iter().enumerate().map(|(i, m)| PeerSpec {
            index: i as u32,
            publish: Some(*m),
            subscribe: self.publishers_receive,
        });
        let l = (0..self.listeners).map(|i| PeerSpec {
            index: (self.publishers.len() + i) as u32,
            publish: None,
            subscribe: true,
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
    pub(crate) fn pairs(&self) -> usize {
        self.publishers.iter().map(|m| streams(*m)).sum::<usize>() * self.fanout()
    }

    /// Whether `stream` (2 × publisher + 1 for video) belongs to this scenario.
    pub(crate) fn has_stream(&self, stream: usize) -> bool {
        match self.publishers.get(stream / 2) {
            Some(m) => stream.is_multiple_of(2) || *m == Media::AudioVideo,
            None => false,
        }
    }

    /// Packets that should have arrived, given what each stream sent in the window.
    pub(crate) fn expected(&self, sent: &[u64]) -> u64 {
        let per_stream: u64 = sent
            .iter()
            .enumerate()
            .filter(|(s, _)| self.has_stream(*s))
            .map(|(_, n)| n)
            .sum();
        per_stream * self.fanout() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fanout_and_pairs_follow_who_receives_whom() {
        let all = Scenario::all();
        assert_eq!((all[0].fanout(), all[0].pairs()), (50, 100));
        // Twelve people each receive the other eleven's camera and microphone.
        assert_eq!((all[1].fanout(), all[1].pairs()), (11, 12 * 2 * 11));
        assert_eq!((all[2].fanout(), all[2].pairs()), (50, 50 * 50));
        assert_eq!(all[1].peers().iter().filter(|p| p.subscribe).count(), 12);
        assert_eq!(all[2].peers().len(), 100);
        // 50-audio has no video streams: a stray one is not expected anywhere.
        assert_eq!(all[2].expected(&[10, 99, 10]), 2 * 10 * 50);
        // The storm's joiners are not in the window's fan-out: they come during it.
        assert_eq!(
            (all[3].fanout(), all[3].pairs(), all[3].storm_pairs()),
            (10, 20, 40)
        );
        let storm = all[3].storm_peers();
        assert_eq!((storm[0].index, storm.len()), (11, 20));
    }
}
