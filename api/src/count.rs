//! How ballots of `multiple` and `ranked` polls are read and counted: the
//! check every ballot passes, its canonical form (what the ledger stores and
//! hashes), and the instant runoff of ranked ballots. The server, `urna
//! verify` and the pages all use these functions, so a count recomputed from
//! the public ledger follows the same rule as the live results.
use serde::{Deserialize, Serialize};

use crate::PollKind;

/// Why a ballot is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BallotFault {
    /// An option appears twice.
    Repeats(i64),
    /// Fewer options than the poll's `min_choices`.
    TooFew { min: u32 },
    /// More options than the poll's `max_choices`.
    TooMany { max: u32 },
    /// An option that is not in the poll.
    UnknownOption(i64),
}

impl std::fmt::Display for BallotFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BallotFault::Repeats(id) => write!(f, "option {id} appears more than once"),
            BallotFault::TooFew { min } => write!(f, "this poll needs at least {min} choice(s)"),
            BallotFault::TooMany { max } => write!(f, "this poll takes at most {max} choice(s)"),
            BallotFault::UnknownOption(id) => write!(f, "no option {id} in this poll"),
        }
    }
}

/// Checks a ballot against the poll's options (`options`, any order) and
/// limits, and returns its canonical form: a `multiple` ballot's options in
/// ascending id order (a set has no order), a ranking as given.
pub fn canonical_ballot(
    kind: PollKind,
    choices: &[i64],
    options: &[i64],
    (min, max): (u32, u32),
) -> Result<Vec<i64>, BallotFault> {
    for (i, id) in choices.iter().enumerate() {
        if !options.contains(id) {
            return Err(BallotFault::UnknownOption(*id));
        }
        if choices.iter().take(i).any(|c| c == id) {
            return Err(BallotFault::Repeats(*id));
        }
    }
    let n = choices.len();
    if n < min as usize {
        return Err(BallotFault::TooFew { min });
    }
    if n > max as usize {
        return Err(BallotFault::TooMany { max });
    }
    let mut out = choices.to_vec();
    if kind == PollKind::Multiple {
        out.sort_unstable();
    }
    Ok(out)
}

/// The options whose counters a canonical ballot adds one to: every choice
/// of a `multiple` ballot, a ranking's first (its first preference). The
/// server counts by it and `urna verify` holds the ledger to it.
pub fn counted_options(kind: PollKind, choices: &[i64]) -> &[i64] {
    match kind {
        PollKind::Ranked => choices.get(..1).unwrap_or_default(),
        _ => choices,
    }
}

/// One option's votes in a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundCount {
    pub option_id: i64,
    pub votes: i64,
}

/// One round of an instant runoff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Round {
    /// The options still in the count, in the poll's order, each with the
    /// ballots that rank it highest among them.
    pub counts: Vec<RoundCount>,
    /// The option this round removes; empty in the round that decides.
    pub eliminated: Vec<i64>,
    /// Ballots that rank none of the options still in the count.
    #[serde(default)]
    pub exhausted: i64,
}

/// A track's instant-runoff count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstantRunoff {
    pub rounds: Vec<Round>,
    /// `null` while no ballot has been cast.
    pub winner: Option<i64>,
}

/// The instant runoff over `ballots` (each distinct ranking with how many
/// ballots cast it) among `options`, given in the poll's order.
///
/// Each round gives every ballot to its highest-ranked option still in the
/// count; a ballot that ranks none of them is exhausted. An option with
/// more than half of the round's non-exhausted ballots wins, and so does
/// the last option left. Otherwise the option with the fewest ballots is
/// eliminated. **Ties** for the fewest: the tied option with fewer ballots
/// in the round before is eliminated, looking back round by round to the
/// first; an option still tied after the first round's count is decided
/// by the poll's order, the one listed last going out. Options that no
/// ballot ranks first are eliminated one round at a time like any other.
pub fn instant_runoff<'a>(options: &[i64], ballots: impl IntoIterator<Item = (&'a [i64], i64)>) -> InstantRunoff {
    // Each ranking as positions in `options`; ballots sit in the pile of
    // their highest-ranked option still in the count, and only the pile of
    // the option that goes out moves: each ballot moves at most once per
    // choice it names, however many rounds there are.
    // All rankings in one buffer (a ballot is its span of it and its
    // count): one allocation, not one per distinct ranking.
    let mut flat: Vec<usize> = Vec::new();
    let mut spans: Vec<(usize, usize, i64)> = Vec::new();
    for (ranking, n) in ballots.into_iter().filter(|b| b.1 > 0) {
        let start = flat.len();
        flat.extend(ranking.iter().filter_map(|id| options.iter().position(|o| o == id)));
        spans.push((start, flat.len(), n));
    }
    if spans.is_empty() {
        return InstantRunoff { rounds: Vec::new(), winner: None };
    }
    let mut alive = vec![true; options.len()];
    let mut votes = vec![0i64; options.len()];
    let mut piles: Vec<Vec<(usize, usize)>> = vec![Vec::new(); options.len()];
    let mut exhausted = 0;
    // Puts ballot `b` on the pile of its first choice from place `from` on
    // that is still in the count.
    let place = |b: usize, from: usize, alive: &[bool], votes: &mut [i64], piles: &mut [Vec<(usize, usize)>]| -> bool {
        let Some(&(start, end, n)) = spans.get(b) else { return false };
        let ranking = flat.get(start..end).unwrap_or_default();
        for (at, &o) in ranking.iter().enumerate().skip(from) {
            if alive.get(o) == Some(&true)
                && let (Some(v), Some(pile)) = (votes.get_mut(o), piles.get_mut(o))
            {
                *v += n;
                pile.push((b, at));
                return true;
            }
        }
        false
    };
    for (b, &(_, _, n)) in spans.iter().enumerate() {
        if !place(b, 0, &alive, &mut votes, &mut piles) {
            exhausted += n;
        }
    }
    let mut rounds: Vec<Round> = Vec::new();
    loop {
        let counts: Vec<RoundCount> = options
            .iter()
            .zip(&votes)
            .zip(&alive)
            .filter(|(_, on)| **on)
            .map(|((&option_id, &votes), _)| RoundCount { option_id, votes })
            .collect();
        if counts.is_empty() {
            return InstantRunoff { rounds, winner: None };
        }
        let counted: i64 = counts.iter().map(|c| c.votes).sum();
        let winner = match counts.as_slice() {
            [only] => Some(only.option_id),
            _ => counts.iter().find(|c| c.votes * 2 > counted).map(|c| c.option_id),
        };
        if let Some(w) = winner {
            rounds.push(Round { counts, eliminated: Vec::new(), exhausted });
            return InstantRunoff { rounds, winner: Some(w) };
        }
        let out_id = loser(&counts, &rounds);
        rounds.push(Round { counts, eliminated: vec![out_id], exhausted });
        let Some(out) = options.iter().position(|o| *o == out_id) else {
            return InstantRunoff { rounds, winner: None };
        };
        if let Some(a) = alive.get_mut(out) {
            *a = false;
        }
        let pile = piles.get_mut(out).map(std::mem::take).unwrap_or_default();
        for (b, at) in pile {
            if !place(b, at + 1, &alive, &mut votes, &mut piles) {
                exhausted += spans.get(b).map_or(0, |x| x.2);
            }
        }
    }
}

/// The option a round eliminates: the fewest ballots, ties broken by the
/// rounds before (latest first), then by the poll's order (last goes out).
fn loser(counts: &[RoundCount], before: &[Round]) -> i64 {
    let fewest = counts.iter().map(|c| c.votes).min().unwrap_or(0);
    let mut tied: Vec<i64> = counts.iter().filter(|c| c.votes == fewest).map(|c| c.option_id).collect();
    for round in before.iter().rev() {
        if tied.len() < 2 {
            break;
        }
        let then = |id: i64| round.counts.iter().find(|c| c.option_id == id).map_or(0, |c| c.votes);
        let least = tied.iter().map(|&id| then(id)).min().unwrap_or(0);
        tied.retain(|&id| then(id) == least);
    }
    // `counts` is in the poll's order: the last tied option is listed last.
    tied.last().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn irv(options: &[i64], ballots: &[(&[i64], i64)]) -> InstantRunoff {
        instant_runoff(options, ballots.iter().copied())
    }

    fn counts(r: &Round) -> Vec<(i64, i64)> {
        r.counts.iter().map(|c| (c.option_id, c.votes)).collect()
    }

    #[test]
    fn a_majority_of_first_preferences_wins_in_one_round() {
        let r = irv(&[1, 2, 3], &[(&[1, 2], 6), (&[2], 3), (&[3, 1], 2)]);
        assert_eq!(r.winner, Some(1));
        assert_eq!(r.rounds.len(), 1);
        assert_eq!(counts(&r.rounds[0]), vec![(1, 6), (2, 3), (3, 2)]);
        assert!(r.rounds[0].eliminated.is_empty());
    }

    #[test]
    fn the_last_option_is_eliminated_and_its_ballots_move_on() {
        // A 8, B 7, C 5 (C voters prefer B next): C goes, B wins 12-8.
        let r = irv(&[1, 2, 3], &[(&[1], 8), (&[2, 1], 7), (&[3, 2], 4), (&[3], 1)]);
        assert_eq!(r.rounds[0].eliminated, vec![3]);
        assert_eq!(counts(&r.rounds[1]), vec![(1, 8), (2, 11)]);
        assert_eq!(r.rounds[1].exhausted, 1, "the ballot that ranked only C is exhausted");
        assert_eq!(r.winner, Some(2));
    }

    #[test]
    fn ties_for_last_look_back_then_go_by_the_polls_order() {
        // Round 1: A 4, B 3, C 3, D 2. D goes (its ballots to C).
        // Round 2: A 4, B 3, C 5: B is last alone.
        let r = irv(&[1, 2, 3, 4], &[(&[1], 4), (&[2], 3), (&[3], 3), (&[4, 3], 2)]);
        assert_eq!(r.rounds[0].eliminated, vec![4]);
        assert_eq!(r.rounds[1].eliminated, vec![2]);
        assert_eq!(r.winner, Some(3));
        // B and C tie now, and were tied before: C, listed last, goes.
        let r = irv(&[1, 2, 3], &[(&[1], 4), (&[2], 2), (&[3], 2)]);
        assert_eq!(r.rounds[0].eliminated, vec![3]);
        // B and D tie at 4 in round 2 (D with E's ballot); in round 1 D had
        // 3 to B's 4, so D goes.
        let r = irv(&[1, 2, 3, 4, 5], &[(&[1], 9), (&[2], 4), (&[3], 5), (&[4], 3), (&[5, 4], 1), (&[2, 4], 0)]);
        assert_eq!(r.rounds[0].eliminated, vec![5]);
        assert_eq!(counts(&r.rounds[1]), vec![(1, 9), (2, 4), (3, 5), (4, 4)]);
        assert_eq!(r.rounds[1].eliminated, vec![4], "B and D tie at 4; D had 3 to B's 4 in round 1");
    }

    #[test]
    fn an_even_final_round_is_decided_by_the_tie_rule_and_no_ballots_no_winner() {
        let r = irv(&[1, 2], &[(&[1], 3), (&[2], 3)]);
        assert_eq!(r.rounds[0].eliminated, vec![2]);
        assert_eq!(r.winner, Some(1));
        assert_eq!(r.rounds.len(), 2);
        assert_eq!(irv(&[1, 2], &[]), InstantRunoff { rounds: vec![], winner: None });
    }

    #[test]
    fn ballots_are_checked_and_sets_are_sorted() {
        let opts = [10, 11, 12];
        assert_eq!(canonical_ballot(PollKind::Multiple, &[12, 10], &opts, (1, 2)), Ok(vec![10, 12]));
        assert_eq!(canonical_ballot(PollKind::Ranked, &[12, 10], &opts, (1, 3)), Ok(vec![12, 10]));
        assert_eq!(canonical_ballot(PollKind::Ranked, &[12, 12], &opts, (1, 3)), Err(BallotFault::Repeats(12)));
        assert_eq!(canonical_ballot(PollKind::Ranked, &[9], &opts, (1, 3)), Err(BallotFault::UnknownOption(9)));
        assert_eq!(canonical_ballot(PollKind::Multiple, &[], &opts, (1, 3)), Err(BallotFault::TooFew { min: 1 }));
        assert_eq!(
            canonical_ballot(PollKind::Multiple, &[10, 11, 12], &opts, (1, 2)),
            Err(BallotFault::TooMany { max: 2 })
        );
    }
}
