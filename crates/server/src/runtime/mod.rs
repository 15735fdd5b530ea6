//! The runtime of `summit serve`: tokio tasks around the sans-IO core, each doing one kind of I/O.

pub(crate) mod entry;
pub(crate) mod http;
pub(crate) mod limits;
pub(crate) mod mailbox;
pub(crate) mod metrics;
pub(crate) mod sfu_task;
pub(crate) mod signaling;
pub(crate) mod task_load;
pub(crate) mod tcp;
pub(crate) mod turn;
pub(crate) mod udp;
