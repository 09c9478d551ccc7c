import EventLog
import Foundation
import LabelerCore
import Projections

/// The operators' commands: each validates, signs what it needs off the writer, then decides
/// inside the writer's transaction against current state, so concurrent commands cannot
/// double-apply (e.g. two resolutions of one flag emit one negation).
public struct ModerationCommands: Sendable {
    public let service: LabelerService
    /// Thresholds of the known-content retro-scan a confirmation starts.
    public let knownContent: KnownContentThresholds
    public static let copyrightValue = CopyrightFlagsProjection.labelValue

    public init(service: LabelerService, knownContent: KnownContentThresholds = KnownContentThresholds()) {
        self.service = service
        self.knownContent = knownContent
    }

    public struct CommandError: Error, Sendable, CustomStringConvertible {
        public let status: Int
        public let name: String
        public let description: String
        static func notFound(_ m: String) -> CommandError { CommandError(status: 404, name: "NotFound", description: m) }
        static func invalid(_ m: String) -> CommandError { CommandError(status: 400, name: "InvalidRequest", description: m) }
        static func conflict(_ m: String) -> CommandError { CommandError(status: 409, name: "Conflict", description: m) }
    }

    public struct ResolveResult: Sendable {
        public let seq: UInt64
        public let alreadyResolved: Bool
    }

    /// Negates an open copyright flag and records why. Resolving a resolved flag changes nothing.
    public func resolve(uri: String, val: String, reason: ResolutionReason, notes: String?, actor: Actor) async throws -> ResolveResult {
        let negation = try service.makeLabel(LabelRequest(uri: uri, val: val, neg: true)).signed(with: service.key)
        let flags = service.store.flags
        let outcome = Mutex<ResolveResult?>(nil)
        let seqs = try await service.log.append(deciding: { txn in
            outcome.withLock { $0 = nil }  // `decide` may run again (see `append(deciding:)`)
            guard let flag = try flags.record(uri: uri, txn), flag.isFlag else {
                throw CommandError.notFound("no copyright flag for \(uri)")
            }
            if let r = flag.resolution {
                outcome.withLock { $0 = ResolveResult(seq: r.seq, alreadyResolved: true) }
                return []
            }
            return [
                LabelApplied(label: negation).event(actor: actor),
                FlagResolved(uri: uri, val: val, reason: reason, notes: notes).event(actor: actor),
            ]
        })
        if let earlier = outcome.withLock({ $0 }) { return earlier }
        return ResolveResult(seq: seqs[0], alreadyResolved: false)
    }

    /// A review batch of open flags (all pending ones when `uris` is empty); the id is unguessable.
    /// With `skipBatched`, flags already waiting undecided in another pending batch are left out
    /// (`skipped`), decided in the write; when that leaves none, it is a conflict.
    public func createBatch(
        uris: [String], createdBy: String?, actor: Actor, skipBatched: Bool = false
    ) async throws -> (id: String, count: Int, skipped: [String]) {
        var seen = Set<String>()
        let wanted = uris.filter { seen.insert($0).inserted }
        let id = Base32.encode(secureRandomBytes(16))
        let flags = service.store.flags
        let count = Mutex(0)
        let skipped = Mutex<[String]>([])
        let store = service.store
        try await service.log.append(deciding: { txn in
            skipped.withLock { $0 = [] }  // `decide` may run again (see `append(deciding:)`)
            count.withLock { $0 = 0 }
            var chosen: [String]
            if wanted.isEmpty {
                chosen = try flags.list(states: [.pending], txn).map(\.uri)
            } else {
                chosen = []
                var bad: [String] = []
                for u in wanted {
                    if let f = try flags.record(uri: u, txn), f.isFlag, f.state != .resolved { chosen.append(u) } else { bad.append(u) }
                }
                if !bad.isEmpty {
                    throw CommandError.invalid("not open copyright flags: \(bad.prefix(5).joined(separator: ", "))\(bad.count > 5 ? " (+\(bad.count - 5) more)" : "")")
                }
            }
            if skipBatched {
                let waiting = try store.batches.awaitingReview(txn)
                let already = chosen.filter { waiting[$0] != nil }
                if !already.isEmpty, already.count == chosen.count {
                    let ids = Set(already.compactMap { waiting[$0] }).sorted()
                    throw CommandError.conflict("every flag asked for already waits in a review batch (\(ids.prefix(5).joined(separator: ", ")))")
                }
                chosen.removeAll { waiting[$0] != nil }
                skipped.withLock { $0 = already }
            }
            guard !chosen.isEmpty else { throw CommandError.invalid("no flags to review") }
            count.withLock { $0 = chosen.count }
            return [ReviewBatchCreated(batchId: id, uris: chosen, createdBy: createdBy).event(actor: actor)]
        })
        return (id, count.withLock { $0 }, skipped.withLock { $0 })
    }

    public struct Decision: Sendable {
        public let uri: String
        public let decision: ReviewDecision
        public init(uri: String, decision: ReviewDecision) {
            self.uri = uri
            self.decision = decision
        }
    }

    /// Records review decisions; `clear` negates the flag and resolves it as fingerprint noise;
    /// `confirm` turns the subject's scanned audio (when its fingerprint is stored) into a
    /// known-content reference, in the same append, then re-checks the stored catalogue locally.
    /// The batch completes when every flag in it has a decision.
    public struct SubmitResult: Sendable {
        public var resolved: Int
        public var completed: Bool
        /// Confirmed subjects whose audio became a new reference.
        public var referencesAdded: [String]
        /// Confirmed subjects with no stored fingerprint: no reference could be made.
        public var noFingerprint: [String]
        /// A retro-scan that failed after the decisions were recorded (logged, not thrown).
        public var retroScanErrors: [String]
    }

    public func submit(batchId: String, decisions: [Decision], actor: Actor) async throws -> SubmitResult {
        var seen = Set<String>()
        for d in decisions where !seen.insert(d.uri).inserted { throw CommandError.invalid("\(d.uri) appears twice") }
        var negations: [String: Label] = [:]
        for d in decisions where d.decision == .clear {
            negations[d.uri] = try service.makeLabel(LabelRequest(uri: d.uri, val: Self.copyrightValue, neg: true)).signed(with: service.key)
        }
        let known = KnownContentService(service: service, thresholds: knownContent)
        var references: [String: KnownContentAdded] = [:]
        for d in decisions where d.decision == .confirm {
            references[d.uri] = try known.reference(uri: d.uri, reason: "operator-confirmed", work: nil)
        }
        let store = service.store
        let signedNegations = negations
        let newReferences = references
        let added = Mutex<[KnownContentAdded]>([])
        let result = Mutex((0, false))
        try await service.log.append(deciding: { txn in
            added.withLock { $0 = [] }  // `decide` may run again (see `append(deciding:)`)
            result.withLock { $0 = (0, false) }
            guard let batch = try store.batches.batch(batchId, txn) else { throw CommandError.notFound("no review batch \(batchId)") }
            guard batch.status == .pending else { throw CommandError.conflict("batch \(batchId) is already completed") }
            let members = Set(batch.uris)
            let outside = decisions.filter { !members.contains($0.uri) }.map(\.uri)
            guard outside.isEmpty else { throw CommandError.invalid("not in batch \(batchId): \(outside.prefix(5).joined(separator: ", "))") }
            var events: [NewEvent] = []
            var resolved = 0
            for d in decisions {
                events.append(ReviewDecisionRecorded(batchId: batchId, uri: d.uri, decision: d.decision).event(actor: actor))
                if let ref = newReferences[d.uri], try store.known.reference(ref.refId, txn).map({ $0.removed }) ?? true,
                    !added.withLock({ $0.contains { $0.refId == ref.refId } })
                {
                    events.append(ref.event(actor: actor))
                    added.withLock { $0.append(ref) }
                }
                if d.decision == .clear, let flag = try store.flags.record(uri: d.uri, txn), flag.isFlag, flag.resolution == nil {
                    events.append(LabelApplied(label: signedNegations[d.uri]!).event(actor: actor))
                    events.append(FlagResolved(uri: d.uri, val: Self.copyrightValue, reason: .fingerprintNoise, notes: "batch review: cleared")
                        .event(actor: actor))
                    resolved += 1
                }
            }
            let decided = Set(batch.decisions.keys).union(decisions.map(\.uri))
            let completed = members.isSubset(of: decided)
            if completed { events.append(ReviewBatchCompleted(batchId: batchId).event(actor: actor)) }
            result.withLock { $0 = (resolved, completed) }
            return events
        })
        // The decisions are committed: a failed retro-scan is logged and reported, not thrown
        // (a retry of the submit would be refused or append the decisions again).
        var errors: [String] = []
        for ref in added.withLock({ $0 }) {
            do { _ = try await known.retroScan(ref) } catch {
                service.logger.error("known-content retro-scan failed", metadata: ["ref": "\(ref.refId)", "error": "\(error)"])
                errors.append("\(ref.refId): \(error)")
            }
        }
        let (resolved, completed) = result.withLock { $0 }
        let confirmed = decisions.filter { $0.decision == .confirm }.map(\.uri)
        let made = Set(added.withLock { $0 }.compactMap(\.uri))
        return SubmitResult(
            resolved: resolved, completed: completed, referencesAdded: confirmed.filter { made.contains($0) },
            noFingerprint: confirmed.filter { newReferences[$0] == nil }, retroScanErrors: errors)
    }
}

import Synchronization
