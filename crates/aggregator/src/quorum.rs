//! Pure quorum arithmetic and signature work: who may sign a task, how much stake has signed,
//! whether the thresholds are met, batch verification, and the `NonSignerStakesAndSignature`
//! that `confirmAlert` checks. No I/O: the L1 reads that feed it live in `mach-chain`.

use alloy::primitives::{Address, B256, U256};
use mach_chain::quorum::{NonSignerStakesAndSignature, OperatorKeys};
use mach_contracts::BN254;
use mach_keys::bls::{self, BlsSignature, G1PublicKey, G2PublicKey};
use std::collections::BTreeMap;

/// An operator of the task's quorums at its reference block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its address.
    pub operator: Address,
    /// Its stake in each of the task's quorums it is in (weighted StakeRegistry units).
    pub stakes: BTreeMap<u8, U256>,
    /// Its registered keys.
    pub keys: OperatorKeys,
}

/// The operator set of a task: its quorums at the reference block, keyed by operator ID.
#[derive(Clone, Debug, Default)]
pub struct QuorumView {
    quorums: Vec<u8>,
    members: BTreeMap<B256, Member>,
}

impl QuorumView {
    /// A view of `quorums` (sorted, as the task lists them) with these members.
    pub fn new(quorums: Vec<u8>, members: BTreeMap<B256, Member>) -> Self {
        Self { quorums, members }
    }

    /// The member with `operator_id`, if it was registered at the reference block.
    pub fn member(&self, operator_id: &B256) -> Option<&Member> {
        self.members.get(operator_id)
    }

    /// How many operators the view holds.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no operator is registered in the task's quorums.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Total stake of each quorum, in the task's quorum order.
    pub fn total_stakes(&self) -> Vec<U256> {
        self.stake_of(|_| true)
    }

    /// Stake of each quorum held by `signers`, in the task's quorum order.
    pub fn signed_stakes<'a>(&self, signers: impl IntoIterator<Item = &'a B256>) -> Vec<U256> {
        let signers: std::collections::BTreeSet<&B256> = signers.into_iter().collect();
        self.stake_of(|id| signers.contains(id))
    }

    fn stake_of(&self, include: impl Fn(&B256) -> bool) -> Vec<U256> {
        self.quorums
            .iter()
            .map(|q| {
                self.members
                    .iter()
                    .filter(|(id, _)| include(id))
                    .filter_map(|(_, m)| m.stakes.get(q))
                    .fold(U256::ZERO, |sum, stake| sum + stake)
            })
            .collect()
    }

    /// Whether `signers` hold at least `thresholds[i]` percent of quorum i's stake in every
    /// quorum, by the contract's rule: `signed * 100 >= total * threshold` and `total > 0`.
    pub fn threshold_met<'a>(
        &self,
        signers: impl IntoIterator<Item = &'a B256>,
        thresholds: &[u8],
    ) -> bool {
        let signed = self.signed_stakes(signers);
        let totals = self.total_stakes();
        thresholds.len() == self.quorums.len()
            && signed
                .iter()
                .zip(&totals)
                .zip(thresholds)
                .all(|((signed, total), threshold)| {
                    !total.is_zero()
                        && *signed * U256::from(100u8) >= *total * U256::from(*threshold)
                })
    }

    /// Members that did not sign, ordered by operator ID (the order the contract requires).
    pub fn non_signers<'a>(
        &'a self,
        signed: &BTreeMap<B256, BlsSignature>,
    ) -> Vec<(&'a B256, &'a Member)> {
        self.members
            .iter()
            .filter(|(id, _)| !signed.contains_key(*id))
            .collect()
    }

    /// The aggregate G1 key of each quorum at the reference block, as the BLSApkRegistry
    /// history holds it.
    pub fn quorum_apks(&self) -> Vec<G1PublicKey> {
        self.quorums
            .iter()
            .map(|q| {
                bls::aggregate_g1(
                    self.members
                        .values()
                        .filter(|m| m.stakes.contains_key(q))
                        .map(|m| &m.keys.g1),
                )
            })
            .collect()
    }

    /// How many of the task's quorums the member is in: its key counts once per quorum in the
    /// contract's aggregate key, so its signature and G2 key must count as often.
    fn weight(&self, operator_id: &B256) -> usize {
        self.members.get(operator_id).map_or(0, |m| m.stakes.len())
    }

    /// The signature part of `confirmAlert` for `signed` (operator ID → signature), given the
    /// history indices the OperatorStateRetriever returned for [`Self::non_signers`].
    pub fn signature_params(
        &self,
        signed: &BTreeMap<B256, BlsSignature>,
        indices: SignatureIndices,
    ) -> NonSignerStakesAndSignature {
        let mut sigmas = Vec::new();
        let mut g2s = Vec::new();
        for (id, signature) in signed {
            let Some(member) = self.members.get(id) else {
                continue;
            };
            for _ in 0..self.weight(id) {
                sigmas.push(*signature);
                g2s.push(member.keys.g2);
            }
        }
        let sigma = bls::aggregate_signatures(&sigmas);
        let apk_g2 = bls::aggregate_g2(&g2s);
        let (sx, sy) = sigma.coordinates();
        let (gx, gy) = apk_g2.to_solidity();
        NonSignerStakesAndSignature {
            nonSignerQuorumBitmapIndices: indices.non_signer_quorum_bitmap_indices,
            nonSignerPubkeys: self
                .non_signers(signed)
                .into_iter()
                .map(|(_, m)| g1_point(&m.keys.g1))
                .collect(),
            quorumApks: self.quorum_apks().iter().map(g1_point).collect(),
            apkG2: BN254::G2Point { X: gx, Y: gy },
            sigma: BN254::G1Point { X: sx, Y: sy },
            quorumApkIndices: indices.quorum_apk_indices,
            totalStakeIndices: indices.total_stake_indices,
            nonSignerStakeIndices: indices.non_signer_stake_indices,
        }
    }
}

/// History indices for `confirmAlert` (the OperatorStateRetriever's `CheckSignaturesIndices`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureIndices {
    /// Per non-signer: index of its quorum bitmap at the reference block.
    pub non_signer_quorum_bitmap_indices: Vec<u32>,
    /// Per quorum: index of its aggregate key at the reference block.
    pub quorum_apk_indices: Vec<u32>,
    /// Per quorum: index of its total stake at the reference block.
    pub total_stake_indices: Vec<u32>,
    /// Per quorum, per non-signer in it: index of its stake at the reference block.
    pub non_signer_stake_indices: Vec<Vec<u32>>,
}

fn g1_point(key: &G1PublicKey) -> BN254::G1Point {
    let (x, y) = key.coordinates();
    BN254::G1Point { X: x, Y: y }
}

/// Verifies signatures of one hash: first all at once (aggregate signatures and keys, one
/// pairing check), and only if that fails each on its own to find the bad ones. Sound because
/// registry keys carry a proof of possession, so no key can cancel another. Returns one verdict
/// per item, in order.
pub fn verify_batch(hash: &B256, items: &[(G2PublicKey, BlsSignature)]) -> Vec<bool> {
    match items {
        [] => Vec::new(),
        [(key, signature)] => vec![bls::verify(key, hash, signature)],
        _ => {
            let signature = bls::aggregate_signatures(items.iter().map(|(_, s)| s));
            let key = bls::aggregate_g2(items.iter().map(|(k, _)| k));
            if bls::verify(&key, hash, &signature) {
                vec![true; items.len()]
            } else {
                items
                    .iter()
                    .map(|(key, signature)| bls::verify(key, hash, signature))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mach_keys::BlsSecretKey;

    fn member(key: &BlsSecretKey, stakes: &[(u8, u64)]) -> (B256, Member) {
        (
            key.operator_id().0,
            Member {
                operator: Address::repeat_byte(1),
                stakes: stakes.iter().map(|(q, s)| (*q, U256::from(*s))).collect(),
                keys: OperatorKeys {
                    g1: key.public_key(),
                    g2: key.public_key_g2(),
                },
            },
        )
    }

    #[test]
    fn thresholds_follow_the_contract_rule() {
        let keys: Vec<BlsSecretKey> = (0..3).map(|_| BlsSecretKey::random()).collect();
        let view = QuorumView::new(
            vec![0],
            keys.iter().map(|k| member(k, &[(0, 100)])).collect(),
        );
        let ids: Vec<B256> = keys.iter().map(|k| k.operator_id().0).collect();
        assert_eq!(view.total_stakes(), vec![U256::from(300)]);
        // 1 of 3 is 33 %; 2 of 3 is 66.7 % >= 66 but < 67; 3 of 3 meets 100.
        assert!(!view.threshold_met(&ids[..1], &[66]));
        assert!(view.threshold_met(&ids[..2], &[66]));
        assert!(!view.threshold_met(&ids[..2], &[67]));
        assert!(view.threshold_met(&ids, &[100]));
        // Exactly at the threshold counts (200 * 100 >= 300 * 66 and 150*100 >= 300*50).
        let half = QuorumView::new(
            vec![0],
            [member(&keys[0], &[(0, 150)]), member(&keys[1], &[(0, 150)])]
                .into_iter()
                .collect(),
        );
        assert!(half.threshold_met(&ids[..1], &[50]));
        assert!(!half.threshold_met(&ids[..1], &[51]));
        // A quorum without stake is never met; a wrong threshold count is never met.
        assert!(!QuorumView::new(vec![0], BTreeMap::new()).threshold_met(&[], &[0]));
        assert!(!view.threshold_met(&ids, &[66, 66]));
    }

    #[test]
    fn every_quorum_must_be_met() {
        let a = BlsSecretKey::random();
        let b = BlsSecretKey::random();
        let view = QuorumView::new(
            vec![0, 1],
            [
                member(&a, &[(0, 90), (1, 10)]),
                member(&b, &[(0, 10), (1, 90)]),
            ]
            .into_iter()
            .collect(),
        );
        let a_id = a.operator_id().0;
        assert_eq!(
            view.signed_stakes([&a_id]),
            vec![U256::from(90), U256::from(10)]
        );
        assert!(!view.threshold_met([&a_id], &[66, 66]));
        assert!(view.threshold_met([&a_id], &[66, 10]));
    }

    #[test]
    fn non_signers_are_sorted_and_apks_sum_quorum_members() {
        let keys: Vec<BlsSecretKey> = (0..5).map(|_| BlsSecretKey::random()).collect();
        let view = QuorumView::new(
            vec![0, 1],
            keys.iter()
                .enumerate()
                .map(|(i, k)| member(k, if i < 3 { &[(0, 1)] } else { &[(0, 1), (1, 1)] }))
                .collect(),
        );
        let signed: BTreeMap<B256, BlsSignature> =
            [(keys[0].operator_id().0, keys[0].sign(&B256::ZERO))]
                .into_iter()
                .collect();
        let non_signers: Vec<B256> = view
            .non_signers(&signed)
            .iter()
            .map(|(id, _)| **id)
            .collect();
        assert_eq!(non_signers.len(), 4);
        assert!(non_signers.windows(2).all(|w| w[0] < w[1]));
        let apks = view.quorum_apks();
        assert_eq!(
            apks[0],
            bls::aggregate_g1(
                keys.iter()
                    .map(|k| k.public_key())
                    .collect::<Vec<_>>()
                    .iter()
            )
        );
        assert_eq!(
            apks[1],
            bls::aggregate_g1([keys[3].public_key(), keys[4].public_key()].iter())
        );
    }

    #[test]
    fn batch_verification_finds_the_bad_signature() {
        let hash = B256::repeat_byte(7);
        let keys: Vec<BlsSecretKey> = (0..6).map(|_| BlsSecretKey::random()).collect();
        let mut items: Vec<(G2PublicKey, BlsSignature)> = keys
            .iter()
            .map(|k| (k.public_key_g2(), k.sign(&hash)))
            .collect();
        assert_eq!(verify_batch(&hash, &items), vec![true; 6]);
        // Operator 3 signs another hash.
        items[3].1 = keys[3].sign(&B256::repeat_byte(8));
        assert_eq!(
            verify_batch(&hash, &items),
            vec![true, true, true, false, true, true]
        );
        assert_eq!(verify_batch(&hash, &items[3..4]), vec![false]);
        assert!(verify_batch(&hash, &[]).is_empty());
    }
}
