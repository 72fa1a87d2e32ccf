//! Which of the store's two ways into the main queue a cache's shards use: picked by set dueling
//! (Qureshi, Jaleel, Patt, Steely and Emer, "Adaptive Insertion Policies for High Performance
//! Caching", ISCA 2007), with the followers themselves as the baseline. Most shards follow one
//! regime; one leader (two in a cache of 32 shards or more) challenges it, playing the other.
//! Shards see alike shares of the keys (the hash spreads them), so the challenger's misses
//! against the followers' mean per shard compare the regimes on the workload the cache has now,
//! with no shadow cache and nothing counted on a hit. When the challenger misses clearly less,
//! the followers take its regime, and a leader then challenges with the one they left.
//!
//! Why a leader that stays in its regime for many rounds: a regime that counts (frequency)
//! builds its content slowly, and a leader that swapped regimes every round, as an earlier duel
//! did, judged it before it had built anything: on P3 of the trace collection at 32,768 entries
//! frequency held misses 5% less, and that duel's pairs of rounds gave -4% to +6%, so the
//! followers stayed in recency; this duel finds frequency there on every seed (17.7% against
//! 15.0% at `82f39f3`; 18.75% held in frequency, seed 1). Why the two leaders of a pair take turns: alike
//! is not the same, one shard's keys can miss a little more than the others' whatever the
//! regime (on P6 at 32,768 entries in 32 shards, hit ratios spread over 1.5 points in one
//! regime), and turns keep one shard's luck from deciding every verdict. While a leader is between regimes (after
//! a turn, or after the followers switched) its misses say little: those rounds go unjudged.
//!
//! What it cannot do: one challenger (16 to 31 shards) is one shard's keys, and on a bursty
//! trace one shard's misses per round stray by several percent from the followers' mean (on P12
//! at 24,576 entries, -5% to +9% per round where recency held misses 1.5% less). Its verdicts
//! then switch the followers on chance, and the cache loses up to 0.8 points there against
//! the earlier duel. A wider margin keeps those caches still but finds frequency later where it
//! does win (see [`MARGIN_PER_MILLE`]).

use crate::sync::{AtomicI32, AtomicU8, AtomicU32, AtomicUsize, Ordering};

/// How keys get into a store's main queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Regime {
    /// S3-FIFO's: a key read twice in the small queue moves on, a key back from the ghost goes
    /// straight to main (through the door if the main queue let it go); the small queue's
    /// share adapts. Best where
    /// what was used lately is used again (most workloads).
    Recency,
    /// TinyLFU's: every key leaving a small queue of 1% moves on only if the sketch has seen it
    /// more often than the main-queue entries it would push out; the ghost is not asked. Best
    /// where keys come back too far apart for any queue or ghost to remember them (loops a
    /// little larger than the cache), where it keeps the most frequent ones.
    Frequency,
}

impl Regime {
    fn other(self) -> Regime {
        match self {
            Regime::Recency => Regime::Frequency,
            Regime::Frequency => Regime::Recency,
        }
    }
}

/// A shard's part in the duel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// One of a pair of leaders, which take turns challenging the followers' regime (the first
    /// challenges first); the one not challenging plays the followers' regime.
    Leads { second: bool },
    /// In the regime the challengers last lost to.
    Follows,
}

/// Fewer shards than this do not duel: a challenger would hold too large a share of the cache,
/// and a challenger in the worse regime costs the whole cache its share of the difference.
const LEAST_DUELLING_SHARDS: usize = 16;

/// A cache has a pair of leaders per [`LEAST_DUELLING_SHARDS`] shards, up to this many pairs.
/// Two challengers average over twice the keys; a third would cost another shard's share in
/// the worse regime.
const MOST_LEADER_PAIRS: usize = 2;

/// A round lasts this many challengers' misses per entry a shard holds, per challenger: each
/// challenger misses about sixteen times what it holds, so its content turns over in a round.
/// Rounds twice as long with one challenger (`hit_ratios`, `CAPACITIES=16384,24576`, five
/// seeds): P6 24,576 +0.41, but P3 24,576 -1.21, P6 16,384 -0.28, P12 16,384 -0.27 (verdicts
/// later in short traces).
const ROUND_PER_ENTRY: u32 = 16;

/// How much fewer misses per shard (in thousandths of the two sides' mean) the running verdict
/// must give the challengers' regime for the followers to take it: regimes that do about as
/// well do not switch them on noise. The running verdict is each round's gap plus half the
/// verdict before, so one round clearly won switches them, and a small lead round after round
/// does too. Wider margins (`hit_ratios`, five seeds) keep a noisy single challenger from
/// switching the followers, but find frequency later: with one challenger, 3% gave P12 24,576
/// +0.48 but P3 24,576 -0.92, P3 16,384 -0.46, the loop of 20,000 keys -0.15 (5% and a slower
/// verdict no better); with two, 2% gave P3 32,768 -0.38 and P6 65,536 -0.13.
const MARGIN_PER_MILLE: i32 = 10;

/// Rounds unjudged after the followers switch: every shard is between regimes. Three did as
/// well on every cell from 32,768 to 131,072 entries (five seeds); six leave room for larger
/// shards, whose content turns over no faster per round.
const UNJUDGED_AFTER_SWITCH: u8 = 6;

/// Rounds a leader challenges before the other leader of its pair takes its turn. Turns of 24
/// rounds: P6 32,768 -0.08 (five seeds); of 6 (a lab build, three seeds): P12 24,576 +0.33,
/// but P3 16,384 -0.24, P6 16,384 -0.14, P6 32,768 -0.06.
const ROUNDS_PER_TURN: u8 = 12;

/// Rounds unjudged after a turn: the new challenger is between regimes. One: P6 32,768 -0.04.
const UNJUDGED_AFTER_TURN: u8 = 2;

pub(crate) struct Duel {
    /// Challengers' misses this round, to the round's end.
    played: AtomicU32,
    /// Rounds played in this pair of turns (below `2 * ROUNDS_PER_TURN`): each pair's first
    /// leader challenges in the first `ROUNDS_PER_TURN`, the second in the rest.
    rounds_of_turns: AtomicU8,
    /// Rounds left unjudged.
    unjudged: AtomicU8,
    /// The followers' regime: 0 recency, 1 frequency.
    followed: AtomicU8,
    /// The running verdict: how many thousandths fewer misses per shard the challengers had
    /// than the followers in the last round judged, plus half the verdict before it.
    verdict: AtomicI32,
    /// Leaders: the first `leaders` shards.
    leaders: usize,
    /// Misses per round; 0 when the cache does not duel.
    round: u32,
}

impl Duel {
    /// The duel of a cache of `shards` shards expected to hold `shard_entries` entries each
    /// (`None` with a weigher, which does not duel).
    pub(crate) fn new(shards: usize, shard_entries: Option<usize>) -> Self {
        let pairs = match shard_entries {
            Some(_) => leader_pairs(shards),
            None => 0,
        };
        let round = match shard_entries {
            Some(entries) if pairs > 0 => u32::try_from(entries).map_or(u32::MAX, |entries| {
                entries
                    .saturating_mul(ROUND_PER_ENTRY)
                    .max(ROUND_PER_ENTRY)
                    .saturating_mul(pairs as u32)
            }),
            _ => 0,
        };
        Duel {
            played: AtomicU32::new(0),
            rounds_of_turns: AtomicU8::new(0),
            unjudged: AtomicU8::new(0),
            followed: AtomicU8::new(0),
            verdict: AtomicI32::new(0),
            leaders: 2 * pairs,
            round,
        }
    }

    /// The part of shard `index`.
    pub(crate) fn role(&self, index: usize) -> Role {
        if index < self.leaders {
            Role::Leads {
                second: index % 2 == 1,
            }
        } else {
            Role::Follows
        }
    }

    /// Whether a store in `role` plays the challengers' regime now.
    fn challenges(&self, role: Role) -> bool {
        match role {
            Role::Follows => false,
            Role::Leads { second } => {
                second == (self.rounds_of_turns.load(Ordering::Relaxed) >= ROUNDS_PER_TURN)
            }
        }
    }

    /// The regime a store in `role` plays now.
    pub(crate) fn regime(&self, role: Role) -> Regime {
        let followed = match self.followed.load(Ordering::Relaxed) {
            0 => Regime::Recency,
            _ => Regime::Frequency,
        };
        if self.challenges(role) {
            followed.other()
        } else {
            followed
        }
    }

    /// Counts a miss (a key added) of a store in `role` into its shard's `added`; true when it
    /// ended the round, and the caller should hand every shard's count to
    /// [`end_round`](Self::end_round). Counted with no shard lock held.
    pub(crate) fn count_miss(&self, role: Role, added: &AtomicUsize) -> bool {
        if self.round == 0 {
            return false;
        }
        added.fetch_add(1, Ordering::Relaxed);
        if !self.challenges(role) {
            return false;
        }
        let played = self.played.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if played != self.round {
            return false;
        }
        self.played.store(0, Ordering::Relaxed);
        true
    }

    /// Judges the round that ended from `added`, every shard's misses in it (in shard order),
    /// and moves the followers and the turns on. Only the caller that ended the round calls it,
    /// so the rest of the state has one writer at a time (unless that caller is held up here
    /// for a whole round's misses; then two verdicts race on relaxed atomics and one may be
    /// lost, no harm); a miss counted a little late lands in the next round.
    #[cold]
    pub(crate) fn end_round(&self, added: impl IntoIterator<Item = usize>) {
        // Misses and shards: the followers' regime (followers and the leaders not
        // challenging), then the challengers'.
        let (mut misses, mut shards) = ([0u64; 2], [0u64; 2]);
        for (index, added) in added.into_iter().enumerate() {
            let side = usize::from(self.challenges(self.role(index)));
            misses[side] += added as u64;
            shards[side] += 1;
        }
        let unjudged = self.unjudged.load(Ordering::Relaxed);
        if unjudged > 0 {
            self.unjudged.store(unjudged - 1, Ordering::Relaxed);
        } else {
            self.judge(misses, shards);
        }
        let rounds = (self.rounds_of_turns.load(Ordering::Relaxed) + 1) % (2 * ROUNDS_PER_TURN);
        self.rounds_of_turns.store(rounds, Ordering::Relaxed);
        if rounds.is_multiple_of(ROUNDS_PER_TURN) {
            let unjudged = self.unjudged.load(Ordering::Relaxed);
            self.unjudged
                .store(unjudged.max(UNJUDGED_AFTER_TURN), Ordering::Relaxed);
        }
    }

    fn judge(&self, misses: [u64; 2], shards: [u64; 2]) {
        // Each side's misses times the other side's shards: the means per shard, compared
        // without a division each. Scaled down to 19 bits, so that the rest is 32-bit
        // arithmetic (MCUs divide 64-bit numbers in software, which costs flash).
        let [followers, challengers] =
            [0, 1].map(|side| misses[side].saturating_mul(shards[1 - side]));
        let shift = 45u32.saturating_sub(followers.max(challengers).leading_zeros());
        let [followers, challengers] =
            [followers, challengers].map(|scaled| (scaled >> shift) as i32);
        let gap = (followers - challengers) * 2000 / (followers + challengers).max(1);
        // Within +-2000: the running verdict stays within +-4000.
        let verdict = self.verdict.load(Ordering::Relaxed) / 2 + gap;
        if verdict > MARGIN_PER_MILLE {
            let followed = self.followed.load(Ordering::Relaxed);
            self.followed.store(1 - followed, Ordering::Relaxed);
            self.verdict.store(0, Ordering::Relaxed);
            self.unjudged
                .store(UNJUDGED_AFTER_SWITCH, Ordering::Relaxed);
        } else {
            self.verdict.store(verdict, Ordering::Relaxed);
        }
    }
}

/// How many pairs of shards lead in a cache of `shards` shards (0: it does not duel).
fn leader_pairs(shards: usize) -> usize {
    (shards / LEAST_DUELLING_SHARDS).min(MOST_LEADER_PAIRS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const SHARDS: usize = LEAST_DUELLING_SHARDS;

    fn leaders() -> [Role; 2] {
        [Role::Leads { second: false }, Role::Leads { second: true }]
    }

    /// Ends a round of `duel` (of `shards` shards) in which each shard in the followers' regime
    /// missed `followers` times and each challenger `challengers` times.
    fn play_round(duel: &Duel, shards: usize, followers: usize, challengers: usize) {
        duel.end_round((0..shards).map(|index| {
            if duel.challenges(duel.role(index)) {
                challengers
            } else {
                followers
            }
        }));
    }

    /// Plays rounds until none is left unjudged.
    fn settle(duel: &Duel) {
        while duel.unjudged.load(Ordering::Relaxed) > 0 {
            play_round(duel, SHARDS, 1, 1);
        }
    }

    #[test]
    fn only_caches_of_many_unweighted_shards_duel() {
        for (shards, entries) in [(SHARDS - 1, Some(100)), (SHARDS, None)] {
            let duel = Duel::new(shards, entries);
            assert_eq!(duel.round, 0);
            for index in 0..shards {
                assert_eq!(duel.role(index), Role::Follows);
            }
        }
        let duel = Duel::new(SHARDS, Some(100));
        let roles: Vec<Role> = (0..4).map(|index| duel.role(index)).collect();
        assert_eq!(
            roles,
            [leaders()[0], leaders()[1], Role::Follows, Role::Follows]
        );
        assert_eq!(duel.round, 100 * ROUND_PER_ENTRY);
    }

    #[test]
    fn caches_of_32_shards_or_more_have_two_pairs_of_leaders_and_rounds_twice_as_long() {
        for shards in [2 * SHARDS, 4 * SHARDS, 1024] {
            let duel = Duel::new(shards, Some(100));
            let roles: Vec<Role> = (0..6).map(|index| duel.role(index)).collect();
            let [first, second] = leaders();
            assert_eq!(
                roles,
                [first, second, first, second, Role::Follows, Role::Follows],
                "{shards} shards"
            );
            assert_eq!(duel.round, 2 * 100 * ROUND_PER_ENTRY);
        }
    }

    #[test]
    fn a_round_ends_on_the_challengers_last_miss_and_every_miss_is_counted_in_its_shard() {
        let duel = Duel::new(SHARDS, Some(10));
        let added: Vec<AtomicUsize> = (0..SHARDS).map(|_| AtomicUsize::new(0)).collect();
        let [challenger, waiting] = leaders();
        for _ in 1..duel.round {
            assert!(!duel.count_miss(challenger, &added[0]));
        }
        for _ in 0..1000 {
            assert!(!duel.count_miss(waiting, &added[1]));
            assert!(!duel.count_miss(Role::Follows, &added[2]));
        }
        assert!(
            duel.count_miss(challenger, &added[0]),
            "the round's last miss"
        );
        let counts: Vec<usize> = added
            .iter()
            .map(|added| added.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[..3], [duel.round as usize, 1000, 1000]);
        assert!(!duel.count_miss(challenger, &added[0]), "a new round");
    }

    #[test]
    fn the_first_leader_challenges_the_followers_regime_and_the_leaders_take_turns() {
        let duel = Duel::new(SHARDS, Some(10));
        let regimes = |duel: &Duel| leaders().map(|role| duel.regime(role));
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        assert_eq!(regimes(&duel), [Regime::Frequency, Regime::Recency]);
        for _ in 1..ROUNDS_PER_TURN {
            play_round(&duel, SHARDS, 1, 1);
        }
        assert_eq!(regimes(&duel), [Regime::Frequency, Regime::Recency]);
        play_round(&duel, SHARDS, 1, 1);
        assert_eq!(regimes(&duel), [Regime::Recency, Regime::Frequency]);
        assert_eq!(duel.unjudged.load(Ordering::Relaxed), UNJUDGED_AFTER_TURN);
        for _ in 0..ROUNDS_PER_TURN {
            play_round(&duel, SHARDS, 1, 1);
        }
        assert_eq!(regimes(&duel), [Regime::Frequency, Regime::Recency]);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency, "even rounds");
    }

    #[test]
    fn followers_take_the_regime_of_a_challenger_that_missed_clearly_less() {
        let duel = Duel::new(SHARDS, Some(100));
        // The challenger misses 2% less than the mean follower: over the margin.
        play_round(&duel, SHARDS, 1010, 990);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        // Now the first leader challenges with recency; the second plays frequency.
        assert_eq!(
            leaders().map(|role| duel.regime(role)),
            [Regime::Recency, Regime::Frequency]
        );
        // Rounds after the switch go unjudged, however clear.
        for _ in 0..UNJUDGED_AFTER_SWITCH {
            play_round(&duel, SHARDS, 2, 1);
        }
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        // Then recency ahead by less than the margin, round after round: the followers stay.
        for _ in 0..3 {
            play_round(&duel, SHARDS, 1003, 1000);
        }
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        play_round(&duel, SHARDS, 11, 10);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
    }

    #[test]
    fn a_small_lead_round_after_round_switches_the_followers_and_losses_do_not() {
        let duel = Duel::new(SHARDS, Some(100));
        // The challenger misses 0.8% less (below the margin alone): the second round switches.
        play_round(&duel, SHARDS, 1004, 996);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        play_round(&duel, SHARDS, 1004, 996);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        settle(&duel);
        // A challenger that misses more, however much, never switches the followers.
        for _ in 0..3 * ROUNDS_PER_TURN {
            play_round(&duel, SHARDS, 1, 3);
        }
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
    }

    #[test]
    fn misses_are_compared_per_shard() {
        // 32 shards: two challengers, 30 shards in the followers' regime. The challengers'
        // total is far below the followers', the mean per shard is what counts.
        let duel = Duel::new(2 * SHARDS, Some(100));
        play_round(&duel, 2 * SHARDS, 100, 101);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        play_round(&duel, 2 * SHARDS, 102, 100);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
    }

    #[test]
    fn a_cache_that_does_not_duel_counts_nothing() {
        let duel = Duel::new(SHARDS - 1, Some(100));
        let added = AtomicUsize::new(0);
        for _ in 0..10_000 {
            assert!(!duel.count_miss(Role::Follows, &added));
        }
        assert_eq!(added.load(Ordering::Relaxed), 0);
        assert_eq!(duel.played.load(Ordering::Relaxed), 0);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
    }
}
