import EventLog
import LabelerCore

public struct ReportRecord: Codable, Sendable, Equatable {
    public var id: UInt64
    public var reasonType: String
    public var reason: String?
    public var subject: String
    public var subjectCid: String?
    public var reportedBy: String?
    public var createdAt: String
    public var status: ReportResolved.Status
    public var notes: String?
    public var resolvedBy: String?
    public var updatedAt: String?
}

/// The report queue: every report with its current status.
public final class ReportsProjection: Projection, @unchecked Sendable {
    public static let name = "reports"
    public static let version = 1
    let reports: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [reports] }

    public init(env: LMDBEnvironment) throws {
        reports = try env.database("reports.byid")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .reportCreated(let e):
            let r = ReportRecord(
                id: event.seq, reasonType: e.reasonType, reason: e.reason, subject: e.subject, subjectCid: e.subjectCid,
                reportedBy: e.reportedBy, createdAt: event.envelope.recordedAtString, status: .open)
            try Record.put(r, txn, reports, BigEndian.bytes(event.seq))
        case .reportResolved(let e):
            guard var r = try report(e.reportId, txn) else { return }
            r.status = e.status
            r.notes = e.notes
            r.resolvedBy = e.resolvedBy ?? event.envelope.actor
            r.updatedAt = event.envelope.recordedAtString
            try Record.put(r, txn, reports, BigEndian.bytes(e.reportId))
        default: break
        }
    }

    public func report(_ id: UInt64, _ txn: LMDBTransaction) throws -> ReportRecord? {
        try Record.get(ReportRecord.self, txn, reports, BigEndian.bytes(id))
    }

    /// Newest first.
    public func list(status: ReportResolved.Status?, limit: Int, offset: Int, _ txn: LMDBTransaction) throws -> [ReportRecord] {
        var out: [ReportRecord] = []
        var skipped = 0
        try txn.scan(reports, reverse: true) { _, v in
            let r = try Record.decode(ReportRecord.self, v)
            if let status, r.status != status { return true }
            if skipped < offset {
                skipped += 1
                return true
            }
            out.append(r)
            return out.count < limit
        }
        return out
    }
}
