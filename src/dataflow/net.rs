//! Connecting the processes of a cluster: each connects to those before it in the hosts
//! list and accepts those after it, within a deadline, printing nothing (standard output
//! carries the result), then hands the sockets to timely.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use timely_communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely_communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely_communication::Hooks;

use super::Cluster;

/// How long a process waits for the others to start and connect.
pub(super) const CONNECT_DEADLINE: Duration = Duration::from_secs(60);

/// The first bytes each connection carries: a tag, so that a stray connection to the
/// port is not taken for a peer, then the connecting process's index.
const HELLO: &[u8; 8] = b"ascribe1";

/// Timely's allocators for `threads` workers of this process in `cluster`, and the
/// guard that keeps its network threads, once every peer is connected.
pub(super) fn connect(
    cluster: &Cluster,
    threads: usize,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>), String> {
    let me = cluster.process;
    let deadline = Instant::now() + CONNECT_DEADLINE;
    let listener = TcpListener::bind(&cluster.addresses[me]).map_err(|e| {
        format!(
            "cannot listen on {} (process {me}): {e}",
            cluster.addresses[me]
        )
    })?;
    let mut sockets: Vec<Option<TcpStream>> = (0..cluster.addresses.len()).map(|_| None).collect();
    for (index, address) in cluster.addresses.iter().enumerate().take(me) {
        let stream = loop {
            match TcpStream::connect(address) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "process {index} at {address} did not accept a connection within {} s: {e}",
                        CONNECT_DEADLINE.as_secs()
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let mut stream = stream;
        stream
            .set_nodelay(true)
            .and_then(|()| stream.write_all(HELLO))
            .and_then(|()| stream.write_all(&(me as u64).to_be_bytes()))
            .map_err(|e| format!("cannot greet process {index} at {address}: {e}"))?;
        sockets[index] = Some(stream);
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", cluster.addresses[me]))?;
    while sockets.iter().skip(me + 1).any(Option::is_none) {
        match listener.accept() {
            Ok((mut stream, from)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut hello = [0u8; 16];
                if stream.read_exact(&mut hello).is_err() || &hello[..8] != HELLO {
                    // Not a peer: ignore it and keep waiting.
                    continue;
                }
                let index = u64::from_be_bytes(hello[8..].try_into().expect("8 bytes")) as usize;
                if index <= me || index >= sockets.len() || sockets[index].is_some() {
                    return Err(format!(
                        "{from} says it is process {index}, which process {me} does not expect: is every process given the same hosts file and its own --process?"
                    ));
                }
                let _ = stream.set_read_timeout(None);
                let _ = stream.set_nodelay(true);
                sockets[index] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..sockets.len())
                        .filter(|&i| sockets[i].is_none())
                        .map(|i| format!("{i} ({})", cluster.addresses[i]))
                        .collect();
                    return Err(format!(
                        "process{} {} did not connect within {} s",
                        if missing.len() == 1 { "" } else { "es" },
                        missing.join(", "),
                        CONNECT_DEADLINE.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("cannot accept connections: {e}")),
        }
    }
    let hooks = Hooks::default();
    let process =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(process, sockets, me, threads, hooks)
            .map_err(|e| format!("cannot start the network threads: {e}"))?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}
