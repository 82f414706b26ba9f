//! Lowering a background thread's scheduling priority, so that the threads a person waits on
//! (the gateway's workers, the store's writer) get the cores first when they are busy.

/// Lowers the calling thread's priority by `nice` (0..=19). Best effort: a refusal is logged,
/// naming `what`, and leaves the thread as it was. On Linux a nice value is per thread.
#[cfg(target_os = "linux")]
pub fn lower_this_thread(nice: i32, what: &str) {
    // SAFETY: plain syscalls on the calling thread; no pointers are passed.
    let refused = unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice) != 0
    };
    if refused {
        eprintln!("switchboard: cannot lower the priority of {what}");
    }
}

/// Elsewhere threads keep the server's priority.
#[cfg(not(target_os = "linux"))]
pub fn lower_this_thread(_nice: i32, _what: &str) {}
