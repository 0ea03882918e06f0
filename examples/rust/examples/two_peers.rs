//! Two participants over a channel that loses and reorders: bob receives
//! alice's messages out of order, with one missing until it is resent, and
//! gets them in causal order; alice learns which ones bob has.
//!
//!     cargo run --offline --example two_peers

use libsds::{Event, Manager};

fn main() -> Result<(), libsds::Error> {
    println!("libsds {}", libsds::version());
    let alice = Manager::new()?;
    let bob = Manager::new()?;
    alice.set_event_handler(|e: &Event| {
        if let Event::MessageSent { message_id, .. } = e {
            println!("alice: bob has {message_id}");
        }
    });
    bob.set_event_handler(|e: &Event| match e {
        Event::MessageReady { message_id, .. } => println!("bob:   delivered {message_id}"),
        Event::MissingDependencies {
            message_id,
            missing_deps,
            ..
        } => {
            let ids: Vec<_> = missing_deps.iter().map(|d| d.message_id.as_str()).collect();
            println!("bob:   {message_id} waits for {ids:?}");
        }
        _ => {}
    });

    let wires: Vec<Vec<u8>> = (1..=3)
        .map(|i| alice.wrap(format!("message {i}").as_bytes(), &format!("m{i}"), "room"))
        .collect::<Result<_, _>>()?;
    // The network drops m1 and swaps m2 and m3.
    bob.unwrap(&wires[2])?;
    bob.unwrap(&wires[1])?;
    // Alice resends m1 (an application would do so on message_resend).
    bob.unwrap(&wires[0])?;
    // Bob's next message acknowledges all three.
    alice.unwrap(&bob.wrap(b"got everything", "b1", "room")?)?;
    Ok(())
}
