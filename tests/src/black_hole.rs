//! A TCP relay between a client and a server on this machine that can turn into a black
//! hole: from then on it keeps both connections open and reads everything, and passes nothing
//! on. To each side the other has gone silent without closing anything, as across a network
//! partition that drops packets: no error ever comes, only silence.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The relay; it stops accepting when dropped (open connections end with the test process).
pub struct BlackHole {
    address: SocketAddr,
    swallowing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl BlackHole {
    /// Relays connections made to its own loopback address to `target`.
    pub fn relaying_to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds a loopback port");
        let address = listener.local_addr().expect("an address");
        let swallowing = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (swallow, stopped) = (swallowing.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    let swallow = swallow.clone();
                    std::thread::spawn(move || relay(from, to, &swallow));
                }
            }
        });
        Self {
            address,
            swallowing,
            stop,
        }
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// From now on nothing passes, either way.
    pub fn swallow_everything(&self) {
        self.swallowing.store(true, Ordering::Relaxed);
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread so it sees `stop`.
        let _ = TcpStream::connect(self.address);
    }
}

/// Copies `from` to `to` until either closes, dropping what comes once `swallow` is set.
fn relay(mut from: TcpStream, mut to: TcpStream, swallow: &AtomicBool) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if !swallow.load(Ordering::Relaxed) && to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    if !swallow.load(Ordering::Relaxed) {
        let _ = to.shutdown(Shutdown::Write);
    }
}
