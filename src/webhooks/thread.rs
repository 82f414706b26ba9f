//! The delivery thread: every webhook task (the endpoints' workers, their HTTP requests and
//! connections, the pruning) runs on one current-thread tokio runtime of its own, on an OS thread
//! at a lower scheduling priority than the rest of the server.
//!
//! Why: webhooks are background work with a durable outbox behind them, while a chat message is
//! waited for by a person. On the gateway's runtime an HTTP completion would queue ahead of chat
//! frames on the same workers, and its outbox reads would block one of them; here it runs beside
//! them and, when the cores are busy, the chat threads get more of them. Under overload the
//! outbox grows and delivery lags; nothing is lost.
//!
//! Measured against two other priorities (`docs/performance.md`, webhooks under load): the idle
//! class (`SCHED_IDLE`) kept the chat path's p99 as without webhooks but let delivery p99 reach
//! 64–199 ms at 5,000 events/s on two busy cores; switching to the normal class only while
//! deliveries lagged was no better than a plain lower nice value, which is what this uses.

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use crate::thread_priority::lower_this_thread;

/// How much lower than the server the delivery thread runs (a nice value, 0..=19).
const NICE: i32 = 10;

/// The running delivery thread; it stops (cancelling its tasks) when this is dropped.
pub struct DeliveryThread {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl DeliveryThread {
    pub fn start() -> std::io::Result<DeliveryThread> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("switchboard-hooks".to_string())
            .spawn(move || {
                lower_this_thread(NICE, "the webhook delivery thread");
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_background();
            })?;
        Ok(DeliveryThread {
            handle,
            _stop: stop,
        })
    }

    /// Where webhook tasks are spawned.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}
