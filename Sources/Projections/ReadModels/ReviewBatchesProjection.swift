import EventLog
import LabelerCore

public struct BatchDecision: Codable, Sendable, Equatable {
    public var decision: ReviewDecision
    public var actor: String
    public var at: String
    public var seq: UInt64
}

public struct BatchRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case pending, completed }
    public var id: String
    public var createdAt: String
    public var createdBy: String?
    public var actor: String
    public var seq: UInt64
    public var uris: [String]
    public var decisions: [String: BatchDecision]
    public var status: Status
    public var completedAt: String?
    /// When its link last reached reviewers, and where (v2).
    public var announcedAt: String?
    public var announcedTo: [String]?

    public var undecided: [String] { uris.filter { decisions[$0] == nil } }
}

/// Review batches with their per-flag decisions and status.
public final class ReviewBatchesProjection: Projection, @unchecked Sendable {
    public static let name = "review-batches"
    public static let version = 2
    let batches: MDB_dbi_t
    let order: MDB_dbi_t  // seq -> id
    public var databases: [MDB_dbi_t] { [batches, order] }

    public init(env: LMDBEnvironment) throws {
        batches = try env.database("batches.byid")
        order = try env.database("batches.order")
    }

    public func batch(_ id: String, _ txn: LMDBTransaction) throws -> BatchRecord? {
        try Record.get(BatchRecord.self, txn, batches, Array(id.utf8))
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        var at: String { event.envelope.recordedAtString }
        switch decoded {
        case .reviewBatchCreated(let e):
            var seen = Set<String>()
            let uris = e.uris.filter { seen.insert($0).inserted }
            let r = BatchRecord(
                id: e.batchId, createdAt: at, createdBy: e.createdBy, actor: event.envelope.actor, seq: event.seq,
                uris: uris, decisions: [:], status: .pending, completedAt: nil)
            try Record.put(r, txn, batches, Array(e.batchId.utf8))
            try txn.put(order, BigEndian.bytes(event.seq), Array(e.batchId.utf8))
        case .reviewDecisionRecorded(let e):
            guard var r = try batch(e.batchId, txn) else { return }
            r.decisions[e.uri] = BatchDecision(decision: e.decision, actor: event.envelope.actor, at: at, seq: event.seq)
            try Record.put(r, txn, batches, Array(e.batchId.utf8))
        case .reviewBatchCompleted(let e):
            guard var r = try batch(e.batchId, txn) else { return }
            r.status = .completed
            r.completedAt = at
            try Record.put(r, txn, batches, Array(e.batchId.utf8))
        case .reviewBatchAnnounced(let e):
            guard var r = try batch(e.batchId, txn) else { return }
            r.announcedAt = at
            r.announcedTo = Array(Set((r.announcedTo ?? []) + e.destinations)).sorted()
            try Record.put(r, txn, batches, Array(e.batchId.utf8))
        default: break
        }
    }

    /// Flags waiting in a pending review batch without a decision yet (uri → batch id), so a
    /// caller such as `labeler loop` does not put them in another batch.
    public func awaitingReview(_ txn: LMDBTransaction) throws -> [String: String] {
        var out: [String: String] = [:]
        for b in try list(limit: 10_000, txn).reversed() where b.status == .pending {
            for u in b.undecided { out[u] = b.id }
        }
        return out
    }

    public func list(limit: Int = 1000, _ txn: LMDBTransaction) throws -> [BatchRecord] {
        var ids: [[UInt8]] = []
        try txn.scan(order, reverse: true) { _, v in
            ids.append(Array(v))
            return ids.count < limit
        }
        return try ids.compactMap { try Record.get(BatchRecord.self, txn, batches, $0) }
    }
}
