import EventLog
import LabelerCore

/// Spend for one kind of plan (`full`, `sampled`, `spot-check`, `cache-hit`, `known-content`, …).
public struct ScanSpend: Codable, Sendable, Equatable {
    public var scans = 0
    public var billedRequests = 0
    /// What full scans of the same uploads would have cost (scans of known duration only).
    public var fullScanRequests = 0
}

/// Totals over every scan: how many ran, failed and flagged, the provider requests billed, what
/// full scans would have cost, and the split by plan kind.
public struct ScanTotals: Codable, Sendable, Equatable {
    public var scans = 0
    public var failed = 0
    public var flagged = 0
    /// Provider requests billed (the field keeps its v1 name).
    public var estimatedRequests = 0
    public var fullScanRequests = 0
    /// Successful scans whose duration was unknown (no full-scan cost to compare with).
    public var unknownDuration = 0
    /// Scans that ran complementary passes after the first.
    public var escalated = 0
    public var byPlan: [String: ScanSpend] = [:]
}

/// One scan's cost, for the per-scan listing.
public struct ScanCostRecord: Codable, Sendable, Equatable {
    public var seq: UInt64
    public var scanId: String
    public var at: String
    public var uri: String?
    public var status: String
    public var provider: String
    public var mode: String?
    public var kind: String?
    public var billedRequests: Int
    public var fullScanRequests: Int?
    public var calls: Int
    public var flagged: Bool
    public var contentHash: String?
}

public final class ScanStatsProjection: Projection, @unchecked Sendable {
    public static let name = "scan-stats"
    public static let version = 2
    let totals: MDB_dbi_t
    let bySeq: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [totals, bySeq] }
    /// Written straight to LMDB during rebuilds (its apply counts or scans its own tables, which
    /// the rebuild write buffer does not serve).
    public var bufferedDatabases: [MDB_dbi_t] { [] }
    static let key = Array("totals".utf8)

    public init(env: LMDBEnvironment) throws {
        totals = try env.database("scans.totals")
        bySeq = try env.database("scans.byseq")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        guard case .scanRecorded(let s) = decoded else { return }
        var t = try self.totals(txn)
        t.scans += 1
        if s.status == .failed { t.failed += 1 }
        if s.isFlagged { t.flagged += 1 }
        t.estimatedRequests += s.estimatedRequests
        let kind = s.status == .failed ? "failed" : (s.plan?.kind ?? "full")
        var spend = t.byPlan[kind] ?? ScanSpend()
        spend.scans += 1
        spend.billedRequests += s.estimatedRequests
        if s.status == .ok {
            if let f = s.fullScanRequests {
                t.fullScanRequests += f
                spend.fullScanRequests += f
            } else {
                t.unknownDuration += 1
            }
        }
        if (s.calls?.count ?? 0) > 1 { t.escalated += 1 }
        t.byPlan[kind] = spend
        try Record.put(t, txn, totals, Self.key)
        let r = ScanCostRecord(
            seq: event.seq, scanId: s.scanId, at: event.envelope.recordedAtString, uri: s.uri, status: s.status.rawValue,
            provider: s.provider, mode: s.plan?.mode, kind: s.plan?.kind, billedRequests: s.estimatedRequests,
            fullScanRequests: s.fullScanRequests, calls: s.calls?.count ?? (s.status == .ok ? 1 : 0), flagged: s.isFlagged,
            contentHash: s.contentHash)
        try Record.put(r, txn, bySeq, BigEndian.bytes(event.seq))
    }

    public func totals(_ txn: LMDBTransaction) throws -> ScanTotals {
        try Record.get(ScanTotals.self, txn, totals, Self.key) ?? ScanTotals()
    }

    /// Scans newest first, below `before` (a seq) when given.
    public func recent(limit: Int, before: UInt64? = nil, _ txn: LMDBTransaction) throws -> [ScanCostRecord] {
        var out: [ScanCostRecord] = []
        let from = before.map { BigEndian.bytes($0 &- 1) }
        if before == 0 { return [] }
        try txn.scan(bySeq, from: from, reverse: true) { _, v in
            out.append(try Record.decode(ScanCostRecord.self, v))
            return out.count < limit
        }
        return out
    }
}
