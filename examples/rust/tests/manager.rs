// Tests of the safe binding against build/libsds.so.

use libsds::{Config, Error, Event, HistoryEntry, Manager, MessageKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::thread;
use std::time::Duration;

/// Records a manager's events.
fn record(m: &Manager) -> Arc<Mutex<Vec<Event>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    m.set_event_handler(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    events
}

fn take(events: &Mutex<Vec<Event>>) -> Vec<Event> {
    std::mem::take(&mut *events.lock().unwrap())
}

fn ready(id: &str, ch: &str) -> Event {
    Event::MessageReady {
        message_id: id.into(),
        channel_id: ch.into(),
    }
}

fn sent(id: &str, ch: &str) -> Event {
    Event::MessageSent {
        message_id: id.into(),
        channel_id: ch.into(),
    }
}

#[test]
fn wrap_and_unwrap_between_two_managers() {
    let alice = Manager::with_config(&Config::new().participant_id("alice")).unwrap();
    let bob = Manager::new().unwrap();
    let bob_events = record(&bob);

    let wire = alice.wrap(b"hello bob", "m1", "room").unwrap();
    assert!(!wire.is_empty());
    let got = bob.unwrap(&wire).unwrap();
    assert_eq!(got.content, b"hello bob");
    assert_eq!(got.channel_id, "room");
    assert_eq!(got.message_id, "m1");
    assert_eq!(got.sender_id, "alice");
    assert!(got.delivered && !got.duplicate);
    assert_eq!(got.kind, MessageKind::Regular);
    assert!(!got.rfc_format);
    assert!(got.missing_deps.is_empty());
    // The event ran before unwrap returned.
    assert_eq!(take(&bob_events), vec![ready("m1", "room")]);

    // The same bytes again: a duplicate, not delivered twice.
    let again = bob.unwrap(&wire).unwrap();
    assert!(again.duplicate && !again.delivered);
    assert_eq!(take(&bob_events), vec![]);
}

#[test]
fn missing_dependencies_then_mark_met() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    let events = record(&bob);
    let first = alice.wrap(b"one", "d1", "deps").unwrap();
    let second = alice.wrap(b"two", "d2", "deps").unwrap();

    let got = bob.unwrap(&second).unwrap();
    assert!(!got.delivered);
    assert_eq!(
        got.missing_deps
            .iter()
            .map(|d| d.message_id.as_str())
            .collect::<Vec<_>>(),
        ["d1"]
    );
    assert_eq!(
        take(&events),
        vec![Event::MissingDependencies {
            message_id: "d2".into(),
            channel_id: "deps".into(),
            missing_deps: vec![HistoryEntry {
                message_id: "d1".into(),
                ..Default::default()
            }],
        }]
    );

    bob.mark_dependencies_met(&["d1"], "deps").unwrap();
    assert_eq!(take(&events), vec![ready("d2", "deps")]);
    // d1 counts as present now: its late arrival delivers nothing.
    assert!(bob.unwrap(&first).unwrap().duplicate);
    assert_eq!(take(&events), vec![]);
}

#[test]
fn missing_dependency_names_its_sender_in_result_and_event() {
    let alice = Manager::with_config(&Config::new().participant_id("alice")).unwrap();
    let bob = Manager::new().unwrap();
    let events = record(&bob);
    alice.wrap(b"one", "s1", "room").unwrap();
    let got = bob.unwrap(&alice.wrap(b"two", "s2", "room").unwrap()).unwrap();
    let want = vec![HistoryEntry {
        message_id: "s1".into(),
        sender_id: "alice".into(),
        ..Default::default()
    }];
    assert_eq!(got.missing_deps, want);
    assert_eq!(
        take(&events),
        vec![Event::MissingDependencies {
            message_id: "s2".into(),
            channel_id: "room".into(),
            missing_deps: want,
        }]
    );
}

#[test]
fn late_message_releases_the_waiting_one_in_causal_order() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    let events = record(&bob);
    let first = alice.wrap(b"one", "o1", "order").unwrap();
    let second = alice.wrap(b"two", "o2", "order").unwrap();
    bob.unwrap(&second).unwrap();
    take(&events);
    assert!(bob.unwrap(&first).unwrap().delivered);
    assert_eq!(take(&events), vec![ready("o1", "order"), ready("o2", "order")]);
}

#[test]
fn acknowledgement_raises_message_sent() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    let events = record(&alice);
    bob.unwrap(&alice.wrap(b"ping", "a1", "ack").unwrap()).unwrap();
    alice.unwrap(&bob.wrap(b"pong", "b1", "ack").unwrap()).unwrap();
    assert_eq!(take(&events), vec![sent("a1", "ack"), ready("b1", "ack")]);
}

#[test]
fn retrieval_hints_travel_in_the_causal_history() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    alice.set_retrieval_hint_provider(move |id: &str| {
        log.lock().unwrap().push(id.to_string());
        Some(format!("hash-of-{id}").into_bytes())
    });
    alice.wrap(b"one", "h1", "hints").unwrap();
    let second = alice.wrap(b"two", "h2", "hints").unwrap();
    assert!(asked.lock().unwrap().contains(&"h1".to_string()));
    let events = record(&bob);
    let got = bob.unwrap(&second).unwrap();
    assert_eq!(got.missing_deps.len(), 1);
    assert_eq!(got.missing_deps[0].retrieval_hint, b"hash-of-h1");
    match &take(&events)[..] {
        [Event::MissingDependencies { missing_deps, .. }] => assert_eq!(missing_deps[0].retrieval_hint, b"hash-of-h1"),
        other => panic!("events {other:?}"),
    }
}

#[test]
fn errors_are_results() {
    let m = Manager::new().unwrap();
    m.wrap(b"x", "dup", "c").unwrap();
    match m.wrap(b"y", "dup", "c") {
        Err(Error::Sds(msg)) => assert!(msg.contains("already used"), "{msg}"),
        other => panic!("duplicate id: {other:?}"),
    }
    assert!(matches!(m.wrap(b"x", "m", ""), Err(Error::Sds(_))), "empty channel");
    assert!(matches!(m.wrap(b"", "m", "c"), Err(Error::Sds(_))), "empty message");
    assert_eq!(m.wrap(b"x", "m\0id", "c"), Err(Error::Nul));
    assert_eq!(m.mark_dependencies_met(&["a\0"], "c"), Err(Error::Nul));
    assert!(matches!(m.unwrap(b"not an SDS message"), Err(Error::Sds(_))));
    assert!(matches!(m.unwrap(b""), Err(Error::Sds(_))));
    match m.mark_dependencies_met(&["a"], "no-such-channel") {
        Err(Error::Sds(msg)) => assert!(msg.contains("unknown channel"), "{msg}"),
        other => panic!("unknown channel: {other:?}"),
    }
    match Manager::with_config(&Config::new().int("bloomFilterCapacity", 0)) {
        Err(Error::Sds(msg)) => assert!(msg.starts_with("invalid config"), "{msg}"),
        other => panic!("bad config: {:?}", other.err()),
    }
    assert!(Manager::with_config(&Config::new().string("noSuchKey", "x")).is_err());
    // After a reset the id is free again.
    m.reset().unwrap();
    m.wrap(b"y", "dup", "c").unwrap();
}

#[test]
fn drop_releases_the_closures() {
    let token = Arc::new(());
    let m = Manager::new().unwrap();
    let (t1, t2) = (token.clone(), token.clone());
    m.set_event_handler(move |_e: &Event| {
        let _ = &t1;
    });
    m.set_retrieval_hint_provider(move |_id: &str| {
        let _ = &t2;
        None
    });
    m.start_periodic_tasks().unwrap();
    assert_eq!(Arc::strong_count(&token), 3);
    // Replacing a handler releases the old one.
    m.clear_event_handler();
    assert_eq!(Arc::strong_count(&token), 2);
    drop(m);
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn periodic_sync_comes_from_the_library_thread() {
    let m = Manager::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    m.set_event_handler(move |e: &Event| {
        if *e == Event::PeriodicSync {
            let _ = tx.lock().unwrap().send(thread::current().id());
        }
    });
    m.start_periodic_tasks().unwrap();
    m.start_periodic_tasks().unwrap(); // a second start does nothing
                                       // The first sync is raised at once on start: no time has to pass.
    let from = rx.recv_timeout(Duration::from_secs(10)).expect("no periodic_sync");
    assert_ne!(from, thread::current().id());
    drop(m);
}

#[test]
fn sync_message_carries_no_content() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    bob.unwrap(&alice.wrap(b"one", "s1", "sync").unwrap()).unwrap();
    let events = record(&alice);
    let got = alice.unwrap(&bob.wrap_sync("sync").unwrap()).unwrap();
    assert_eq!(got.kind, MessageKind::Sync);
    assert!(got.content.is_empty() && !got.delivered);
    // Its causal history acknowledges s1.
    assert_eq!(take(&events), vec![sent("s1", "sync")]);
}

#[test]
fn handler_may_call_back_into_its_manager() {
    let bob = Arc::new(Manager::new().unwrap());
    let weak: Weak<Manager> = Arc::downgrade(&bob);
    let replies = Arc::new(Mutex::new(Vec::new()));
    let out = replies.clone();
    bob.set_event_handler(move |e: &Event| {
        if let (Event::MessageReady { message_id, channel_id }, Some(bob)) = (e, weak.upgrade()) {
            out.lock()
                .unwrap()
                .push(bob.wrap(b"re", &format!("re-{message_id}"), channel_id).unwrap());
        }
    });
    let alice = Manager::new().unwrap();
    let alice_events = record(&alice);
    bob.unwrap(&alice.wrap(b"question", "q1", "re").unwrap()).unwrap();
    let reply = replies.lock().unwrap().pop().expect("no reply");
    alice.unwrap(&reply).unwrap();
    assert_eq!(take(&alice_events), vec![sent("q1", "re"), ready("re-q1", "re")]);
}

#[test]
fn handler_panic_surfaces_in_the_caller() {
    let alice = Manager::new().unwrap();
    let bob = Manager::new().unwrap();
    bob.set_event_handler(|_e: &Event| panic!("handler failed"));
    let wire = alice.wrap(b"x", "p1", "panic").unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bob.unwrap(&wire)));
    let payload = caught.expect_err("the handler's panic was swallowed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"handler failed"));
    // The manager still works.
    bob.clear_event_handler();
    assert!(bob.unwrap(&alice.wrap(b"y", "p2", "panic").unwrap()).unwrap().delivered);
}

#[test]
fn one_manager_from_many_threads() {
    let shared = Arc::new(Manager::new().unwrap());
    let delivered = Arc::new(AtomicUsize::new(0));
    let count = delivered.clone();
    shared.set_event_handler(move |e: &Event| {
        if matches!(e, Event::MessageReady { .. }) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let shared = shared.clone();
            thread::spawn(move || {
                let sender = Manager::new().unwrap();
                for i in 0..50 {
                    let w = sender
                        .wrap(b"payload", &format!("t{t}-{i}"), &format!("ch{t}"))
                        .unwrap();
                    assert!(shared.unwrap(&w).unwrap().delivered);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(delivered.load(Ordering::Relaxed), 200);
}

#[test]
fn event_json_of_the_header() {
    assert_eq!(
        Event::from_json(
            r#"{"eventType":"repair_request","messageId":"sync-1","channelId":"c1","requested":["m1"],"message":"AQID"}"#
        ),
        Event::RepairRequest {
            message_id: "sync-1".into(),
            channel_id: "c1".into(),
            requested: vec!["m1".into()],
            message: vec![1, 2, 3]
        }
    );
    assert_eq!(
        Event::from_json(r#"{"eventType":"repair_ready","channelId":"c1","message":"AQID"}"#),
        Event::RepairReady {
            channel_id: "c1".into(),
            message: vec![1, 2, 3]
        }
    );
    assert_eq!(
        Event::from_json(
            r#"{"eventType":"message_resend","messageId":"m1","channelId":"c1","attempt":2,"message":""}"#
        ),
        Event::MessageResend {
            message_id: "m1".into(),
            channel_id: "c1".into(),
            attempt: 2,
            message: vec![]
        }
    );
    assert_eq!(
        Event::from_json(r#"{"eventType":"dependencies_lost","messageId":"m2","channelId":"c1","lost":["m1"]}"#),
        Event::DependenciesLost {
            message_id: "m2".into(),
            channel_id: "c1".into(),
            lost: vec!["m1".into()]
        }
    );
    assert_eq!(
        Event::from_json(r#"{"eventType":"persistence_backlog","channelId":"c1"}"#),
        Event::PersistenceBacklog {
            channel_id: "c1".into()
        }
    );
    let odd = r#"{"eventType":"from_the_future"}"#;
    assert_eq!(Event::from_json(odd), Event::Unknown(odd.into()));
}

#[test]
fn version_is_semver() {
    let v = libsds::version();
    assert_eq!(v.split('.').filter(|p| p.parse::<u32>().is_ok()).count(), 3, "{v}");
}
