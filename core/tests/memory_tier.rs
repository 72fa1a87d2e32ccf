//! The tier contract on the in-memory double: what the Redis tier is tested for against a
//! server, here without one, so that the core's own tier tests can rely on the double.

use core::time::Duration;

use futures_lite::future::block_on;
use readthrough_core::{
    Announced, Announcement, Deleted, Fetched, Lifetime, LockOutcome, ManualTimer, MemoryTier,
    Stored, Tier, Unavailable, Unlocked, with_timeout,
};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn fetch_reports_the_remaining_lifetime_and_expiry() {
    block_on(async {
        let timer = ManualTimer::new();
        let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
        let node = tier.node();
        assert_eq!(node.store(&1, &10, 10 * SECOND).await, Stored::Stored);
        timer.advance(4 * SECOND);
        assert_eq!(
            node.fetch(&1).await,
            Fetched::Hit {
                value: 10,
                lifetime: Lifetime::Remaining(6 * SECOND)
            }
        );
        timer.advance(6 * SECOND);
        assert_eq!(node.fetch(&1).await, Fetched::Miss);
        assert_eq!(node.delete(&1).await, Deleted::Absent);
    });
}

#[test]
fn a_lock_expires_and_the_late_holder_cannot_release_the_next_one() {
    block_on(async {
        let timer = ManualTimer::new();
        let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
        let (a, b) = (tier.node(), tier.node());
        let LockOutcome::Acquired(stale) = a.lock(&1, SECOND).await else {
            panic!()
        };
        assert_eq!(b.lock(&1, SECOND).await, LockOutcome::HeldElsewhere);
        timer.advance(SECOND);
        assert!(matches!(b.lock(&1, SECOND).await, LockOutcome::Acquired(_)));
        assert_eq!(a.unlock(&1, stale).await, Unlocked::Lost);
        assert_eq!(a.lock(&1, SECOND).await, LockOutcome::HeldElsewhere);
    });
}

#[test]
fn a_node_does_not_hear_its_own_landing() {
    block_on(async {
        let timer = ManualTimer::new();
        let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
        let (a, b) = (tier.node(), tier.node());
        let own = a.landing(&1);
        let other = b.landing(&1);
        assert_eq!(
            a.announce(&1, Announcement::Abandoned).await,
            Announced::Sent
        );
        assert_eq!(other.await, Announcement::Abandoned);
        let wait = with_timeout(&timer, SECOND, own);
        timer.advance(SECOND);
        assert!(wait.await.is_err());
    });
}

#[test]
fn an_unavailable_tier_answers_every_call_with_unavailable() {
    block_on(async {
        let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
        let node = tier.node();
        node.store(&1, &1, SECOND).await;
        tier.set_available(false);
        let down = Unavailable::Failed;
        assert_eq!(node.fetch(&1).await, Fetched::Unavailable(down));
        assert_eq!(node.store(&1, &2, SECOND).await, Stored::Unavailable(down));
        assert_eq!(node.lock(&1, SECOND).await, LockOutcome::Unavailable(down));
        assert_eq!(
            node.announce(&1, Announcement::Landed).await,
            Announced::Unavailable(down)
        );
        tier.set_available(true);
        assert!(matches!(
            node.fetch(&1).await,
            Fetched::Hit { value: 1, .. }
        ));
    });
}
