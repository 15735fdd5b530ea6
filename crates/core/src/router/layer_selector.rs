//! Which layer of a track one receiver gets: the layer forwarded now and the one it should move
//! to, switched only at a keyframe of the new layer, so that the receiver's decoder never gets
//! a picture that refers to frames it did not see. Subscriber slots and the recording tap both
//! use it; they differ only in who chooses the target (the bandwidth allocation, or the best
//! live layer).

/// What to do with one packet of a track, for one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// It belongs to the layer being forwarded: forward it.
    Forward,
    /// The first packet of a keyframe of the target layer: the receiver switches to that layer
    /// from here (the caller continues its outgoing stream from a new source); forward it.
    Switch,
    /// A packet of the target layer, but no keyframe start: drop it, and ask the publisher for
    /// a keyframe of that layer.
    WaitForKeyframe,
    /// Neither the forwarded nor the target layer (or no target at all): drop it.
    Drop,
}

/// The current and target layer of one receiver of one track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LayerSelector {
    current: Option<usize>,
    target: Option<usize>,
}

impl LayerSelector {
    /// A selector that forwards nothing until a target is set.
    pub(crate) const fn new(target: Option<usize>) -> Self {
        Self {
            current: None,
            target,
        }
    }

    /// The layer forwarded now, if any.
    pub(crate) fn current(&self) -> Option<usize> {
        self.current
    }

    /// The layer this receiver should get; `None` forwards nothing.
    pub(crate) fn target(&self) -> Option<usize> {
        self.target
    }

    /// Whether a target is set that is not yet the layer forwarded.
    pub(crate) fn switching(&self) -> bool {
        self.target.is_some() && self.target != self.current
    }

    /// Sets the target. With no target nothing is forwarded, and a later start waits for a
    /// keyframe. Returns whether it changed.
    pub(crate) fn set_target(&mut self, target: Option<usize>) -> bool {
        if self.target == target {
            return false;
        }
        self.target = target;
        if target.is_none() {
            self.current = None;
        }
        true
    }

    /// Forgets the layer forwarded (a new source): the next start waits for a keyframe of the
    /// target.
    pub(crate) fn restart(&mut self) {
        self.current = None;
    }

    /// Decides for one packet of `layer`; `keyframe_start` says whether it begins a keyframe
    /// (always true for audio, which has no layers to switch between mid-picture).
    pub(crate) fn select(
        &mut self,
        layer: usize,
        keyframe_start: impl FnOnce() -> bool,
    ) -> Selection {
        let Some(target) = self.target else {
            return Selection::Drop;
        };
        if self.current == Some(layer) {
            return Selection::Forward;
        }
        if layer != target {
            return Selection::Drop;
        }
        if !keyframe_start() {
            return Selection::WaitForKeyframe;
        }
        self.current = Some(layer);
        Selection::Switch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_forwarded_without_a_target() {
        let mut s = LayerSelector::new(None);
        assert_eq!(s.select(0, || true), Selection::Drop);
        assert_eq!(s.current(), None);
        assert!(!s.switching());
    }

    #[test]
    fn a_start_waits_for_a_keyframe_of_the_target() {
        let mut s = LayerSelector::new(Some(1));
        assert!(s.switching());
        assert_eq!(s.select(0, || true), Selection::Drop);
        assert_eq!(s.select(1, || false), Selection::WaitForKeyframe);
        assert_eq!(s.select(1, || true), Selection::Switch);
        assert_eq!(s.select(1, || false), Selection::Forward);
        assert_eq!(s.current(), Some(1));
        assert!(!s.switching());
    }

    #[test]
    fn the_old_layer_flows_until_the_new_one_has_a_keyframe() {
        let mut s = LayerSelector::new(Some(0));
        assert_eq!(s.select(0, || true), Selection::Switch);
        assert!(s.set_target(Some(2)));
        assert!(!s.set_target(Some(2)));
        assert!(s.switching());
        // Layer 0 keeps the picture alive; layer 1 is nobody's business.
        assert_eq!(s.select(0, || false), Selection::Forward);
        assert_eq!(s.select(1, || true), Selection::Drop);
        assert_eq!(s.select(2, || false), Selection::WaitForKeyframe);
        assert_eq!(s.select(2, || true), Selection::Switch);
        // Now the old layer is dropped.
        assert_eq!(s.select(0, || true), Selection::Drop);
        assert_eq!(s.select(2, || false), Selection::Forward);
    }

    #[test]
    fn stopping_and_restarting_wait_for_a_keyframe_again() {
        let mut s = LayerSelector::new(Some(0));
        assert_eq!(s.select(0, || true), Selection::Switch);
        s.set_target(None);
        assert_eq!(s.select(0, || true), Selection::Drop);
        s.set_target(Some(0));
        assert_eq!(s.select(0, || false), Selection::WaitForKeyframe);
        assert_eq!(s.select(0, || true), Selection::Switch);
        s.restart();
        assert_eq!(s.select(0, || false), Selection::WaitForKeyframe);
    }

    #[test]
    fn the_keyframe_test_runs_only_when_a_switch_depends_on_it() {
        let mut s = LayerSelector::new(Some(0));
        assert_eq!(s.select(0, || true), Selection::Switch);
        assert_eq!(
            s.select(0, || unreachable!(
                "a forwarded layer needs no keyframe test"
            )),
            Selection::Forward
        );
        assert_eq!(
            s.select(1, || unreachable!("another layer needs no keyframe test")),
            Selection::Drop
        );
    }
}
