import EventLog
import LabelerCore

/// Totals over every scan: how many ran, failed and flagged, and the provider requests billed.
public struct ScanTotals: Codable, Sendable, Equatable {
    public var scans = 0
    public var failed = 0
    public var flagged = 0
    public var estimatedRequests = 0
}

public final class ScanStatsProjection: Projection, @unchecked Sendable {
    public static let name = "scan-stats"
    public static let version = 1
    let totals: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [totals] }
    static let key = Array("totals".utf8)

    public init(env: LMDBEnvironment) throws {
        totals = try env.database("scans.totals")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        guard case .scanRecorded(let s) = decoded else { return }
        var t = try self.totals(txn)
        t.scans += 1
        if s.status == .failed { t.failed += 1 }
        if s.isFlagged { t.flagged += 1 }
        t.estimatedRequests += s.estimatedRequests
        try Record.put(t, txn, totals, Self.key)
    }

    public func totals(_ txn: LMDBTransaction) throws -> ScanTotals {
        try Record.get(ScanTotals.self, txn, totals, Self.key) ?? ScanTotals()
    }
}
