// Manager::stats against build/libsds.so (tests/test_stats.c moves every
// counter through the C ABI; here, the Rust view of them).

use libsds::{Config, Counters, Gauges, Manager};

#[test]
fn a_known_exchange_moves_the_counters() {
    let alice = Manager::with_config(&Config::new().participant_id("alice")).unwrap();
    let bob = Manager::with_config(&Config::new().participant_id("bob")).unwrap();
    let w1 = alice.wrap(b"one", "a1", "room").unwrap();
    let w2 = alice.wrap(b"two", "a2", "room").unwrap();
    assert_eq!(bob.unwrap(&w2).unwrap().missing_deps.len(), 1);
    let waiting = bob.stats().unwrap();
    assert_eq!(
        (waiting.gauges.incoming, waiting.counters.missing_dependency_reports),
        (1, 1)
    );
    bob.unwrap(&w1).unwrap();
    assert!(bob.unwrap(&w1).unwrap().duplicate);
    assert!(bob.unwrap(b"junk").is_err());

    let st = bob.stats().unwrap();
    let c = st.counters;
    assert_eq!(
        (c.received_content, c.delivered, c.duplicates, c.unwrap_errors),
        (3, 2, 1, 1)
    );
    assert_eq!(c.bytes_received, (2 * w1.len() + w2.len()) as u64);
    assert_eq!((st.gauges.incoming, st.gauges.log_entries), (0, 2));
    assert_eq!(
        (st.incoming_wait.count, st.incoming_wait.counts.iter().sum::<u64>()),
        (1, 1)
    );
    assert_eq!(
        st.incoming_wait.counts.len(),
        st.incoming_wait.buckets_seconds.len() + 1
    );
    assert_eq!((st.channels, st.persistence_enabled), (1, false));
    let room = st.channel("room").unwrap();
    assert_eq!((room.counters.duplicates, room.counters.unwrap_errors), (1, 0));
    assert!(st.channel("elsewhere").is_none());

    let a = alice.stats().unwrap();
    assert_eq!(a.counters.wrapped_content, 2);
    assert_eq!(a.counters.bytes_sent, (w1.len() + w2.len()) as u64);
    assert_eq!(a.gauges.outgoing, 2);
}

#[test]
fn every_key_is_documented() {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/libsds.h")).unwrap();
    for key in Counters::KEYS.iter().chain(Gauges::KEYS) {
        assert!(
            header.contains(&format!(" *   \"{key}\"")),
            "{key} is not in include/libsds.h"
        );
    }
    assert_eq!(Counters::KEYS.len(), 31);
}
