//! Which of the store's two ways into the main queue a cache's shards use: picked by set dueling
//! (Qureshi, Jaleel, Patt, Steely and Emer, "Adaptive Insertion Policies for High Performance
//! Caching", ISCA 2007). Two shards lead, one in each regime (four, two in each, in a cache of 32
//! shards or more); the others follow whichever regime lately missed less. Leaders see alike
//! shares of the keys (the hash spreads them), so their misses compare the regimes on the
//! workload the cache has now, with no shadow cache and nothing counted on a hit. Alike is not
//! the same: one shard's keys can miss a little more than another's whatever the regime (on P6
//! at 32,768 entries in 32 shards, hit ratios spread over 1.5 points in one regime), so the
//! leaders swap regimes every round, and a verdict
//! weighs a pair of rounds, in which each leader played each regime once. A leader that just
//! swapped still holds what the other regime kept, which favours the regime that builds its
//! content fastest (recency): only the second half of each round's misses count. Even so one
//! pair's verdict is noisy (on P6 at 32,768 entries frequency misses 3% less in the whole
//! cache, and from -2% to +10% less in single pairs), so the followers go by a running verdict:
//! each pair's, plus half the one before.

use crate::sync::{AtomicI32, AtomicU8, AtomicU32, Ordering};

/// How keys get into a store's main queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Regime {
    /// S3-FIFO's: a key read in the small queue moves on (through the door if read once), a key
    /// back from the ghost goes straight to main; the small queue's share adapts. Best where
    /// what was used lately is used again (most workloads).
    Recency,
    /// TinyLFU's: every key leaving a small queue of 1% moves on only if the sketch has seen it
    /// more often than the main-queue entries it would push out; the ghost is not asked. Best
    /// where keys come back too far apart for any queue or ghost to remember them (loops a
    /// little larger than the cache), where it keeps the most frequent ones.
    Frequency,
}

impl Regime {
    fn index(self) -> usize {
        match self {
            Regime::Recency => 0,
            Regime::Frequency => 1,
        }
    }

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
    /// One of a pair of leaders: the first starts in recency, the second in frequency.
    Leads { second: bool },
    /// In the regime the leaders last found better.
    Follows,
}

/// Fewer shards than this do not duel: each leader would hold too large a share of the cache,
/// and a leader in the worse regime costs the whole cache its share of the difference.
const LEAST_DUELLING_SHARDS: usize = 16;

/// A cache has a pair of leaders per [`LEAST_DUELLING_SHARDS`] shards, up to this many pairs.
/// Two leaders of 32 shards do not always hold keys that show what the cache would gain: on
/// `hit_ratios`, P6 at 32,768 entries (32 shards), on two hasher seeds of six the leaders' first
/// pairs of rounds differed by 1% or less where the whole cache in frequency misses 3% less,
/// and the followers found frequency late (28.7 against 29.8 to 29.9 on the other seeds). Two
/// pairs (rounds twice as long, so each leader plays as long): P6 32,768 +0.34 on average over
/// the six seeds (-0.12 to +1.19), P6 131,072 -0.06 (a second leader in the worse regime), the
/// loop of 20,000 entries -0.05, P12 (another trace of the collection) within 0.04; but P3 at
/// 32,768 -0.60 on average (-2.25 to +0.25): a trace too short for the longer rounds (three
/// pairs of them in all) to find frequency in time.
const MOST_LEADER_PAIRS: usize = 2;

/// A round lasts this many leaders' misses per entry a shard holds, per pair of leaders: each
/// leader misses about eight times what it holds, the first four uncounted while it turns
/// over. On `hit_ratios` (five seeds, P6 at 32,768 entries): rounds of 16 per entry +1.95 to
/// +2.15 points against recency alone, 32 per entry +0.70 to +0.78; 8 per entry counting whole
/// rounds +0.18 to +1.93.
const ROUND_PER_ENTRY: u32 = 16;

/// How much fewer misses (in thousandths of the leaders' mean) the running verdict must give a
/// regime for it to become the followers' regime: two regimes that do about as well do not
/// switch them on noise. One pair clearly won switches them (the verdict starts at 0); a regime
/// that wins by a little pair after pair (1.5%: 15, then 22) does on the second; one pair lost
/// after a long lead does not switch them back at once. On `hit_ratios` (five seeds, P6 at
/// 32,768 entries) a verdict from each pair alone (switching on 2% fewer misses) gave the
/// followers to recency for a pair or two on two seeds of five, costing 0.5 to 0.6 points;
/// the running verdict kept them in frequency on all five. 4% (alone per pair) did as well on
/// P6 and a little worse on the loop of `hit_ratios synthetic`.
const MARGIN_PER_MILLE: i32 = 20;

pub(crate) struct Duel {
    /// Misses of the leader in each regime (`Regime::index`) in this round's second half.
    misses: [AtomicU32; 2],
    /// The first round's misses of the pair being played.
    first_round: [AtomicU32; 2],
    /// Leaders' misses this round, to the round's end.
    played: AtomicU32,
    /// Rounds played: its low bit is 1 while the leaders play each other's starting regime.
    rounds: AtomicU32,
    /// The followers' regime (`Regime::index`).
    followed: AtomicU8,
    /// The running verdict: how many thousandths fewer misses frequency had than recency in
    /// the last pair, plus half the verdict before it.
    verdict: AtomicI32,
    /// Misses per round; 0 when the cache does not duel.
    round: u32,
}

impl Duel {
    /// The duel of a cache of `shards` shards expected to hold `shard_entries` entries each
    /// (`None` with a weigher, which does not duel).
    pub(crate) fn new(shards: usize, shard_entries: Option<usize>) -> Self {
        let pairs = leader_pairs(shards) as u32;
        let round = match shard_entries {
            Some(entries) if pairs > 0 => u32::try_from(entries).map_or(u32::MAX, |entries| {
                entries
                    .saturating_mul(ROUND_PER_ENTRY)
                    .max(ROUND_PER_ENTRY)
                    .saturating_mul(pairs)
            }),
            _ => 0,
        };
        Duel {
            misses: [AtomicU32::new(0), AtomicU32::new(0)],
            first_round: [AtomicU32::new(0), AtomicU32::new(0)],
            played: AtomicU32::new(0),
            rounds: AtomicU32::new(0),
            followed: AtomicU8::new(0),
            verdict: AtomicI32::new(0),
            round,
        }
    }

    /// The part of shard `index` of `shards` in a duel `new(shards, shard_entries)`.
    pub(crate) fn role(index: usize, shards: usize, shard_entries: Option<usize>) -> Role {
        match index {
            _ if shard_entries.is_none() => Role::Follows,
            _ if index < 2 * leader_pairs(shards) => Role::Leads {
                second: index % 2 == 1,
            },
            _ => Role::Follows,
        }
    }

    /// The regime a store in `role` plays now.
    pub(crate) fn regime(&self, role: Role) -> Regime {
        match role {
            Role::Follows => match self.followed.load(Ordering::Relaxed) {
                0 => Regime::Recency,
                _ => Regime::Frequency,
            },
            Role::Leads { second } => {
                let swapped = self.rounds.load(Ordering::Relaxed) & 1 == 1;
                if second != swapped {
                    Regime::Frequency
                } else {
                    Regime::Recency
                }
            }
        }
    }

    /// Counts a miss (a key added) of the leader playing `regime` if the round is in its
    /// second half, and ends the round on its last miss. The leaders count under their own
    /// shards' locks, so a count of one can land in the round the other just ended: a rare
    /// miss counted late, no harm.
    pub(crate) fn count_miss(&self, regime: Regime) {
        if self.round == 0 {
            return;
        }
        let played = self.played.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if played > self.round / 2 {
            self.misses[regime.index()].fetch_add(1, Ordering::Relaxed);
        }
        if played != self.round {
            return;
        }
        let misses = [0, 1].map(|index| self.misses[index].swap(0, Ordering::Relaxed));
        self.played.store(0, Ordering::Relaxed);
        let rounds = self.rounds.fetch_add(1, Ordering::Relaxed);
        if rounds & 1 == 0 {
            for (first, misses) in self.first_round.iter().zip(misses) {
                first.store(misses, Ordering::Relaxed);
            }
            return;
        }
        let [recency, frequency] = [0, 1].map(|index| {
            u64::from(self.first_round[index].load(Ordering::Relaxed)) + u64::from(misses[index])
        });
        // Both at most 2^32 (a round's misses): no overflow; the gap is within +-2000.
        let gap = (recency as i64 - frequency as i64) * 2000 / (recency + frequency).max(1) as i64;
        let verdict = self.verdict.load(Ordering::Relaxed) / 2 + gap as i32;
        self.verdict.store(verdict, Ordering::Relaxed);
        let followed = self.regime(Role::Follows);
        let switch = match followed {
            Regime::Recency => verdict > MARGIN_PER_MILLE,
            Regime::Frequency => verdict < -MARGIN_PER_MILLE,
        };
        if switch {
            self.followed
                .store(followed.other().index() as u8, Ordering::Relaxed);
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

    const SHARDS: usize = LEAST_DUELLING_SHARDS;

    fn leaders() -> [Role; 2] {
        [Role::Leads { second: false }, Role::Leads { second: true }]
    }

    /// Plays one round: the leader in recency misses `recency` times for every `frequency`
    /// misses of the other, evenly spread, so that any part of the round keeps that ratio.
    fn play_round(duel: &Duel, recency: u32, frequency: u32) {
        let regimes = leaders().map(|role| duel.regime(role));
        assert_ne!(regimes[0], regimes[1], "the leaders play both regimes");
        let (recency, total) = (u64::from(recency), u64::from(recency + frequency));
        for played in 0..u64::from(duel.round) {
            let regime = if (played + 1) * recency / total > played * recency / total {
                Regime::Recency
            } else {
                Regime::Frequency
            };
            duel.count_miss(regime);
        }
    }

    #[test]
    fn only_caches_of_many_unweighted_shards_duel() {
        for index in 0..SHARDS {
            assert_eq!(Duel::role(index, SHARDS - 1, Some(100)), Role::Follows);
            assert_eq!(Duel::role(index, SHARDS, None), Role::Follows);
        }
        assert_eq!(
            Duel::role(0, SHARDS, Some(100)),
            Role::Leads { second: false }
        );
        assert_eq!(
            Duel::role(1, SHARDS, Some(100)),
            Role::Leads { second: true }
        );
        assert_eq!(Duel::role(2, SHARDS, Some(100)), Role::Follows);
        assert_eq!(Duel::new(SHARDS - 1, Some(100)).round, 0);
        assert_eq!(Duel::new(SHARDS, None).round, 0);
        assert_eq!(Duel::new(SHARDS, Some(100)).round, 100 * ROUND_PER_ENTRY);
    }

    #[test]
    fn caches_of_32_shards_or_more_have_two_pairs_of_leaders_and_rounds_twice_as_long() {
        for shards in [2 * SHARDS, 4 * SHARDS, 1024] {
            let roles: alloc::vec::Vec<Role> = (0..6)
                .map(|index| Duel::role(index, shards, Some(100)))
                .collect();
            let [first, second] = leaders();
            assert_eq!(
                roles,
                [first, second, first, second, Role::Follows, Role::Follows],
                "{shards} shards"
            );
            let round = 2 * 100 * ROUND_PER_ENTRY;
            assert_eq!(Duel::new(shards, Some(100)).round, round);
        }
    }

    #[test]
    fn leaders_swap_regimes_every_round() {
        let duel = Duel::new(SHARDS, Some(10));
        assert_eq!(
            leaders().map(|role| duel.regime(role)),
            [Regime::Recency, Regime::Frequency]
        );
        play_round(&duel, 1, 1);
        assert_eq!(
            leaders().map(|role| duel.regime(role)),
            [Regime::Frequency, Regime::Recency]
        );
        play_round(&duel, 1, 1);
        assert_eq!(
            leaders().map(|role| duel.regime(role)),
            [Regime::Recency, Regime::Frequency]
        );
    }

    /// Plays a pair of rounds with the same misses in both.
    fn play_pair(duel: &Duel, recency: u32, frequency: u32) {
        play_round(duel, recency, frequency);
        play_round(duel, recency, frequency);
    }

    #[test]
    fn followers_take_the_regime_that_missed_clearly_less_over_a_pair_of_rounds() {
        let duel = Duel::new(SHARDS, Some(100));
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        // Frequency misses 4 for recency's 5, but only in the first round of the pair: no
        // verdict until the pair is over.
        play_round(&duel, 5, 4);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        play_round(&duel, 5, 4);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        // Even, then recency ahead by less than the margin: the followers stay.
        play_pair(&duel, 1, 1);
        play_pair(&duel, 1, 1);
        play_pair(&duel, 1, 1);
        play_pair(&duel, 200, 201);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        play_pair(&duel, 4, 5);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
    }

    #[test]
    fn a_small_lead_pair_after_pair_switches_the_followers_and_one_lost_pair_does_not() {
        let duel = Duel::new(SHARDS, Some(1000));
        // Frequency misses 1.5% less than recency (66 for 67): one pair is within the margin,
        // two in a row are not.
        play_pair(&duel, 67, 66);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
        play_pair(&duel, 67, 66);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        // A long clear lead, then one pair recency wins by 4%: the followers stay...
        for _ in 0..4 {
            play_pair(&duel, 21, 20);
        }
        play_pair(&duel, 100, 104);
        assert_eq!(duel.regime(Role::Follows), Regime::Frequency);
        // ...and a second one switches them.
        play_pair(&duel, 100, 104);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
    }

    #[test]
    fn a_cache_that_does_not_duel_counts_nothing() {
        let duel = Duel::new(SHARDS - 1, Some(100));
        for _ in 0..10_000 {
            duel.count_miss(Regime::Recency);
        }
        assert_eq!(duel.played.load(Ordering::Relaxed), 0);
        assert_eq!(duel.regime(Role::Follows), Regime::Recency);
    }
}
