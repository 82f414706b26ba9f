//! Small helpers for instants (Unix ms) in the routing core.

/// The earlier of two optional instants; `None` means "no instant", not "earliest" (unlike
/// `Option::min`, which ranks `None` first).
pub fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::earliest;

    #[test]
    fn none_is_absent_not_earliest() {
        assert_eq!(earliest(Some(5), Some(3)), Some(3));
        assert_eq!(earliest(None, Some(3)), Some(3));
        assert_eq!(earliest(Some(5), None), Some(5));
        assert_eq!(earliest(None, None), None);
    }
}
