import EventLog
import Foundation
import LabelerCore
import Projections
import Replay

// View models for the templates. Plain stored properties only (the renderer reads them by
// reflection); every String is HTML-escaped by the templates' `{{…}}`. Nested views use field
// names of their own, because a nil field would otherwise be looked up in the enclosing view.

struct MatchView {
    let matchTitle: String
    let matchArtist: String
    let matchScore: String
}

struct ResolutionView {
    let reasonLabel: String
    let resolutionNotes: String?
    let resolvedBy: String
    let resolvedAt: String?
    let resolvedAtISO: String
}

struct ConfirmationView {
    let confirmedBatch: String
    let confirmedBy: String
    let confirmedAt: String?
}

struct FlagView {
    let uri: String
    let domId: String
    let title: String?
    let trackURL: String?
    let handle: String?
    let handleURL: String?
    let artistDid: String?
    let score: String?
    let matches: [MatchView]
    let moreMatches: Int?
    let matchCount: Int
    let hasMatches: Bool
    let flaggedAt: String?
    let flaggedAtISO: String?
    let state: String
    let pending: Bool
    let confirmed: Bool
    let resolved: Bool
    let env: String?
    let resolution: ResolutionView?
    let confirmation: ConfirmationView?
    let deferrals: Int?

    static let maxMatches = 3

    init(_ f: FlagRecord) {
        uri = f.uri
        domId = Self.domId(f.uri)
        let c = f.context
        title = c?.trackTitle.flatMap { $0.isEmpty ? nil : $0 }
        trackURL = AdminLinks.track(c?.trackId)
        handle = c?.artistHandle.flatMap { $0.isEmpty ? nil : $0 }
        handleURL = AdminLinks.artist(c?.artistHandle)
        artistDid = c?.artistDid
        let ms = (c?.matches ?? []).sorted { $0.score > $1.score }
        let best = c?.highestScore ?? ms.first?.score
        score = best.map { "\($0)%" }
        matches = ms.prefix(Self.maxMatches).map { MatchView(matchTitle: $0.title, matchArtist: $0.artist, matchScore: "\($0.score)%") }
        moreMatches = ms.count > Self.maxMatches ? ms.count - Self.maxMatches : nil
        matchCount = ms.count
        hasMatches = !ms.isEmpty
        flaggedAt = AdminTime.display(f.flaggedAt)
        flaggedAtISO = f.flaggedAt
        state = f.state.rawValue
        pending = f.state == .pending
        confirmed = f.state == .confirmed
        resolved = f.state == .resolved
        env = AdminLinks.environment(f.uri)
        resolution = f.resolution.map {
            ResolutionView(
                reasonLabel: $0.reason?.displayName ?? "resolved", resolutionNotes: $0.notes.flatMap { $0.isEmpty ? nil : $0 },
                resolvedBy: $0.actor, resolvedAt: AdminTime.display($0.at), resolvedAtISO: $0.at)
        }
        confirmation = f.confirmation.map {
            ConfirmationView(confirmedBatch: $0.batchId, confirmedBy: $0.actor, confirmedAt: AdminTime.display($0.at))
        }
        deferrals = f.deferrals > 0 ? f.deferrals : nil
    }

    /// A stable element id for a subject (tests and the page's script find cards by it).
    static func domId(_ uri: String) -> String {
        "flag-" + Hex.encode(SHA256.hash(Array(uri.utf8)).prefix(8))
    }
}

struct FlagListView {
    let filter: String
    let filterLabel: String
    let count: Int
    let shown: Int
    let truncated: Bool
    let flags: [FlagView]
    let emptyText: String
}

struct ReasonOption {
    let value: String
    let label: String
    static let all = ResolutionReason.allCases.map { ReasonOption(value: $0.rawValue, label: $0.displayName) }
}

struct StatsView {
    let head: UInt64
    let labels: Int
    let pendingFlags: Int
    let confirmedFlags: Int
    let resolvedFlags: Int
    let openReports: Int
    let subscribers: Int
    let images: Int
    let spend: SpendView
}

/// What scanning has cost (issue 9), from the scan-stats read model as `GET /admin/costs` has
/// it: AuDD requests billed, what full scans of the same uploads would have billed, the factor
/// saved, and both in dollars.
struct SpendView {
    let scans: Int
    let billedRequests: Int
    let fullScanRequests: Int
    let savedRequests: Int
    /// `×4.2`, or `-` before anything was billed.
    let savingsFactor: String
    let usdBilled: String
    let usdFullScan: String
    let usdPer1000: String

    init(_ t: ScanTotals, usdPer1000: Double) {
        scans = t.scans
        billedRequests = t.estimatedRequests
        fullScanRequests = t.fullScanRequests
        savedRequests = max(0, t.fullScanRequests - t.estimatedRequests)
        savingsFactor = t.estimatedRequests > 0
            ? "×" + String(format: "%.1f", Double(t.fullScanRequests) / Double(t.estimatedRequests)) : "-"
        func usd(_ requests: Int) -> String { "$" + String(format: "%.2f", Double(requests) * usdPer1000 / 1000) }
        usdBilled = usd(t.estimatedRequests)
        usdFullScan = usd(t.fullScanRequests)
        self.usdPer1000 = String(format: "%.2f", usdPer1000)
    }
}

struct ReportView {
    let id: UInt64
    let reasonType: String
    let reasonShort: String
    let reasonText: String?
    let subject: String
    let subjectCid: String?
    let reportedBy: String?
    let createdAt: String?
    let createdAtISO: String
    let status: String
    let adminNotes: String?
    let resolvedBy: String?
    let updatedAt: String?
    let statuses: [StatusOption]

    init(_ r: ReportRecord) {
        id = r.id
        reasonType = r.reasonType
        reasonShort = r.reasonType.split(separator: "#").last.map { String($0).replacingOccurrences(of: "reason", with: "").lowercased() } ?? r.reasonType
        reasonText = r.reason.flatMap { $0.isEmpty ? nil : $0 }
        subject = r.subject
        subjectCid = r.subjectCid
        reportedBy = r.reportedBy
        createdAt = AdminTime.display(r.createdAt)
        createdAtISO = r.createdAt
        status = r.status.rawValue
        adminNotes = r.notes.flatMap { $0.isEmpty ? nil : $0 }
        resolvedBy = r.resolvedBy
        updatedAt = AdminTime.display(r.updatedAt)
        statuses = ReportResolved.Status.allCases.map { StatusOption(statusValue: $0.rawValue, selected: $0 == r.status) }
    }
}

struct StatusOption {
    let statusValue: String
    let selected: Bool
}

struct ReportListView {
    let status: String
    let count: Int
    let more: Bool
    let reports: [ReportView]
    let emptyText: String
}

struct ImageView {
    let id: UInt64
    let imageId: String?
    let imageURL: String?
    let imageHref: String?
    let imageReason: String?
    let flaggedBy: String?
    let imageFlaggedAt: String?

    init(_ i: SensitiveImageRecord) {
        id = i.id
        imageId = i.imageId
        imageURL = i.url
        imageHref = AdminLinks.web(i.url)
        imageReason = i.reason
        flaggedBy = i.flaggedBy
        imageFlaggedAt = AdminTime.display(i.flaggedAt)
    }
}

struct ImageListView {
    let count: Int
    let images: [ImageView]
}

struct HistoryEntryView {
    let seq: UInt64
    let at: String?
    let atISO: String
    let actor: String
    let type: String
    let summary: String
}

struct HistoryView {
    let subject: String
    let entries: [HistoryEntryView]
    let hasEntries: Bool
    let count: Int
    let shown: Int
    let truncated: Bool

    init(subject: String, entries all: [HistoryEntry], limit: Int) {
        self.subject = subject
        count = all.count
        truncated = all.count > limit
        entries = all.suffix(limit).map {
            HistoryEntryView(seq: $0.seq, at: AdminTime.display($0.at), atISO: $0.at, actor: $0.actor, type: $0.type, summary: $0.summary)
        }
        hasEntries = !entries.isEmpty
        shown = entries.count
    }
}

/// One flag of a review batch: open (to decide), or folded away (decided in this batch, or resolved).
struct ReviewCardView {
    let flag: FlagView?
    let cardURI: String
    let cardId: String
    let decision: String?
    /// Resolved elsewhere but not yet decided in this batch: submitted as `clear` (which records
    /// the decision and changes no label), so the batch can complete.
    let autoClear: Bool
}

struct BatchView {
    let batchId: String
    let status: String
    let completed: Bool
    let createdAt: String?
    let createdBy: String?
    let completedAt: String?
    let total: Int
    let open: [ReviewCardView]
    let openCount: Int
    let folded: [ReviewCardView]
    let hasFolded: Bool
    let foldedCount: Int
    let autoClearCount: Int

    init(_ b: BatchRecord, flags: [FlagRecord?]) {
        batchId = b.id
        status = b.status.rawValue
        completed = b.status == .completed
        createdAt = AdminTime.display(b.createdAt)
        createdBy = b.createdBy
        completedAt = AdminTime.display(b.completedAt)
        total = b.uris.count
        var open: [ReviewCardView] = []
        var folded: [ReviewCardView] = []
        for (uri, flag) in zip(b.uris, flags) {
            let decided = b.decisions[uri]?.decision.rawValue
            let resolved = flag?.state == .resolved
            let card = ReviewCardView(
                flag: flag.map(FlagView.init), cardURI: uri, cardId: FlagView.domId(uri), decision: decided,
                autoClear: !completed && decided == nil && (resolved || flag?.isFlag != true))
            if decided == nil && !card.autoClear && !completed { open.append(card) } else { folded.append(card) }
        }
        self.open = open
        openCount = open.count
        self.folded = folded
        foldedCount = folded.count
        hasFolded = !folded.isEmpty
        autoClearCount = folded.filter(\.autoClear).count
    }
}

/// The page shells: no data, only where the scripts and styles are.
struct PageView {
    let css: String
    let commonJS: String
    let pageJS: String
    let icon: String
    let batchId: String?
    let reasons: [ReasonOption]
}
