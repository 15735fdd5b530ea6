//! The latency floor of the machine: a UDP echo on the server's CPU, pinged from the
//! generator's. What a packet costs to cross between the two (system calls, wake-ups; in a
//! virtual machine, waking an idle virtual CPU) is paid by any server, before forwarding.

use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Pings sent; spaced so that each finds the echo idle, as media packets find a server.
const PINGS: usize = 300;
const SPACING: Duration = Duration::from_millis(3);

/// One-way latency between the two CPUs at p50 and p99 (half the round trip).
pub(crate) fn measure(ip: IpAddr, server_cpu: Option<usize>) -> anyhow::Result<[Duration; 2]> {
    let echo = UdpSocket::bind((ip, 0))?;
    let echo_addr = echo.local_addr()?;
    echo.set_read_timeout(Some(Duration::from_millis(200)))?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let thread = std::thread::spawn(move || {
        if let Some(cpu) = server_cpu {
            let mut set = CpuSet::new();
            if set.set(cpu).is_ok() {
                // Only this thread moves: 0 is the calling thread.
                let _ = sched_setaffinity(Pid::from_raw(0), &set);
            }
        }
        let mut buf = [0u8; 256];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n], from);
            }
        }
    });
    let client = UdpSocket::bind((ip, 0))?;
    client.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut rtts = Vec::with_capacity(PINGS);
    let mut buf = [0u8; 256];
    for _ in 0..PINGS {
        std::thread::sleep(SPACING);
        let t = Instant::now();
        client.send_to(&[0u8; 200], echo_addr)?;
        if client.recv_from(&mut buf).is_ok() {
            rtts.push(t.elapsed() / 2);
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = thread.join();
    rtts.sort();
    let at = |q: f64| {
        rtts.get(((rtts.len() as f64 * q) as usize).min(rtts.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    if rtts.is_empty() {
        anyhow::bail!("the UDP echo on {ip} never answered");
    }
    Ok([at(0.5), at(0.99)])
}
