//! The core under any sequence of inputs: participants joining and publishing, signaling
//! messages of any content, datagrams of any bytes, time passing (a script, one input a line:
//! `summit_testkit::script`). It must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    summit_testkit::script::run(data);
});
