//! Meeting: who is in it, and its recent chat.

use std::collections::VecDeque;

use summit_proto::{ChatMessage, ParticipantId};

/// A meeting with at least one participant.
#[derive(Debug)]
pub(crate) struct Meeting {
    /// Members in order of entry.
    pub(crate) members: Vec<ParticipantId>,
    pub(crate) chat: VecDeque<ChatMessage>,
}

impl Meeting {
    pub(crate) fn new() -> Self {
        Self {
            members: Vec::new(),
            chat: VecDeque::new(),
        }
    }

    pub(crate) fn add_chat(&mut self, msg: ChatMessage, keep: usize) {
        self.chat.push_back(msg);
        while self.chat.len() > keep {
            self.chat.pop_front();
        }
    }
}
