import EventLog
import Foundation
import LabelerCore
import Projections
import Synchronization

extension KnownContentService {
    struct MatchReview: Sendable {
        /// The seq of the `known-content.match-reviewed` event.
        var seq: UInt64
        /// The subject was labelled by this decision (`flag` on a subject with no open flag).
        var labelled: Bool
    }

    /// An operator's judgement of a borderline match. `flag`: the subject is the reference's work
    /// and is labelled `copyright-violation` with the reference as its evidence, in the same append
    /// (unless it already has an open flag), and its bytes are cached as flagged; `dismiss`: it is
    /// not. Decided inside the write, so a match is judged once (409 after that). `flag` is refused
    /// (409) when the reference was taken out of force, or when the subject's flag was resolved by
    /// an earlier decision, which this one does not silently override.
    func reviewMatch(seq: UInt64, decision: KnownMatchDecision, notes: String?, actor: Actor) async throws -> MatchReview {
        let store = service.store
        let (found, work): (KnownMatchRecord?, String?) = try store.read { txn in
            let m = try store.known.recordedMatch(seq: seq, txn)
            return (m, try m.flatMap { try store.known.reference($0.match.refId, txn)?.work })
        }
        guard let m = found else { throw XRPCError(.notFound, "NotFound", "no known-content match was recorded at seq \(seq)") }
        guard m.match.verdict == "review" else {
            throw XRPCError.invalidRequest("the match at seq \(seq) is not borderline (verdict \(m.match.verdict)): there is nothing to review")
        }
        if decision == .flag, m.uri == nil {
            throw XRPCError.invalidRequest(
                "the match at seq \(seq) names no subject (content \(m.contentHash ?? "?") only), so there is nothing to label: dismiss it, or label the subject with /emit-label")
        }
        let label: Label? =
            try decision == .flag ? m.uri.map { try service.makeLabel(LabelRequest(uri: $0, val: Self.labelValue)).signed(with: service.key) } : nil
        let known = store.known
        let flags = store.flags
        let refId = m.match.refId
        let labelled = Mutex(false)
        let seqs = try await service.log.append(deciding: { txn in
            labelled.withLock { $0 = false }  // `decide` may run again (see `append(deciding:)`)
            if let r = try known.review(ofMatch: seq, txn) {
                throw ModerationCommands.CommandError.conflict(
                    "the match at seq \(seq) was already reviewed: \(r.decision.rawValue) by \(r.actor) (seq \(r.seq))")
            }
            let flag = try m.uri.flatMap { try flags.record(uri: $0, txn) }
            if decision == .flag {
                if let ref = try known.reference(refId, txn), ref.removed {
                    throw ModerationCommands.CommandError.conflict(
                        "reference \(refId) was taken out of force\(ref.removedReason.map { " (\($0))" } ?? ""): its matches flag nothing; dismiss this one")
                }
                if let uri = m.uri, let f = flag, f.isFlag, let r = f.resolution {
                    throw ModerationCommands.CommandError.conflict(
                        "the flag of \(uri) was resolved\(r.reason.map { " as \($0.rawValue)" } ?? "") by \(r.actor) (seq \(r.seq)); that decision stands: label it again with /emit-label if it was wrong, or dismiss this match")
                }
            }
            var events = [
                KnownMatchReviewed(matchSeq: seq, uri: m.uri, contentHash: m.contentHash, refId: m.match.refId, decision: decision, notes: notes)
                    .event(actor: actor)
            ]
            if let label, let uri = m.uri {
                if flag?.isFlag != true {
                    events.append(LabelApplied(label: label).event(actor: actor))
                    events.append(
                        TrackContextAttached(
                            uri: uri, highestScore: m.match.score,
                            matches: [ContextMatch(title: Self.evidenceTitle(work: work, refId: refId), artist: Self.evidenceArtist, score: m.match.score)]
                        ).event(actor: actor))
                    labelled.withLock { $0 = true }
                }
            }
            return events
        })
        return MatchReview(seq: seqs[0], labelled: labelled.withLock { $0 })
    }
}
