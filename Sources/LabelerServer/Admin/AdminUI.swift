import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections
import Replay

/// The admin web UI: two page shells anyone may load (they hold no data), their static files,
/// and server-rendered HTML partials behind the admin key, which the pages' own scripts fetch
/// with the key from the browser's storage in the `X-Moderation-Key` header and swap in.
/// Actions go through the existing JSON command routes (`/admin/resolve`, `/admin/review/…/submit`, …).
struct AdminUI {
    let service: LabelerService
    let metrics: ServerMetrics
    /// AuDD's price, for the spend figures (`AUDD_USD_PER_1000`).
    var usdPer1000: Double = ScanSettings().usdPer1000Requests

    static let flagListLimit = 500
    static let historyLimit = 1000
    static let reportListLimit = 100
    /// Known-content matches read, and borderline ones shown, on the dashboard.
    static let knownMatchScan = 5000
    static let knownReviewLimit = 100

    /// `GET /admin`, `GET /admin/review/{id}`, `GET /admin/static/{file}`: public (listed in `publicRoutes`).
    func registerPages(_ router: Router<LabelerRequestContext>) {
        router.get("/admin") { _, _ in Self.dashboardPage() }
        router.get("/admin/review/{id}") { _, ctx in try Self.reviewPage(ctx.parameters.get("id") ?? "") }
        router.get("/admin/static/{file}") { request, ctx in try AdminAssets.serve(ctx.parameters.get("file") ?? "", request) }
    }

    /// The partials, behind the admin key.
    func registerPartials(_ admin: RouterGroup<LabelerRequestContext>) {
        admin.get("/admin/partials/stats") { _, _ in try stats() }
        admin.get("/admin/partials/flags") { request, _ in try flags(request) }
        admin.get("/admin/partials/reports") { request, _ in try reports(request) }
        admin.get("/admin/partials/images") { _, _ in try images() }
        admin.get("/admin/partials/known-review") { _, _ in try knownReview() }
        admin.get("/admin/partials/history") { request, _ in try history(request) }
        admin.get("/admin/partials/review/{id}") { _, ctx in try batch(ctx.parameters.get("id") ?? "") }
    }

    // MARK: pages

    static func dashboardPage() -> Response {
        AdminHeaders.html(AdminTemplates.render("dashboard", page(js: "dashboard.js", batchId: nil)))
    }

    /// The shell for any well-formed id: whether the batch exists is told only to a caller with the key.
    static func reviewPage(_ id: String) throws -> Response {
        guard isBatchId(id) else { throw XRPCError.notFound("no review batch \(id)") }
        return AdminHeaders.html(AdminTemplates.render("review", page(js: "review.js", batchId: id)))
    }

    static func page(js: String, batchId: String?) -> PageView {
        PageView(
            css: AdminAssets.url("admin.css"), commonJS: AdminAssets.url("common.js"), pageJS: AdminAssets.url(js),
            icon: AdminAssets.url("icon.svg"), batchId: batchId, reasons: ReasonOption.all)
    }

    /// Batch ids are base32 (the command makes them); anything else cannot name a batch.
    static func isBatchId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    // MARK: partials

    func stats() throws -> Response {
        let store = service.store
        let view = try store.read { txn in
            let flags = try store.flags.counts(txn)
            return StatsView(
                head: service.log.head, labels: try store.labels.count(txn), pendingFlags: flags[.pending] ?? 0,
                confirmedFlags: flags[.confirmed] ?? 0, resolvedFlags: flags[.resolved] ?? 0,
                openReports: try store.reports.list(status: .open, limit: Int.max, offset: 0, txn).count,
                subscribers: metrics.subscribers.load(ordering: .relaxed), images: try store.images.all(txn).count,
                spend: SpendView(try store.scanStats.totals(txn), usdPer1000: usdPer1000))
        }
        return AdminHeaders.html(AdminTemplates.render("stats", view))
    }

    func flags(_ request: Request) throws -> Response {
        let filter = request.uri.queryParameters["filter"].map(String.init) ?? "pending"
        let (states, label, empty): (Set<FlagRecord.State>?, String, String) = switch filter {
        case "pending": ([.pending], "pending", "No pending flags.")
        case "confirmed": ([.confirmed], "confirmed", "No confirmed flags.")
        case "resolved": ([.resolved], "resolved", "No resolved flags.")
        case "all": (nil, "flagged tracks", "No flagged tracks.")
        default: throw XRPCError.invalidRequest("filter must be pending, confirmed, resolved or all")
        }
        let store = service.store
        let all = try store.read { try store.flags.list(states: states, limit: Int.max, $0) }
        let shown = all.prefix(Self.flagListLimit)
        let view = FlagListView(
            filter: filter, filterLabel: label, count: all.count, shown: shown.count, truncated: all.count > shown.count,
            flags: shown.map(FlagView.init), emptyText: empty)
        return AdminHeaders.html(AdminTemplates.render("flags", view))
    }

    func reports(_ request: Request) throws -> Response {
        let param = request.uri.queryParameters["status"].map(String.init) ?? "open"
        let status: ReportResolved.Status?
        if param == "all" {
            status = nil
        } else {
            guard let s = ReportResolved.Status(rawValue: param) else {
                throw XRPCError.invalidRequest("status must be open, investigating, resolved, dismissed or all")
            }
            status = s
        }
        let store = service.store
        let list = try store.read { try store.reports.list(status: status, limit: Self.reportListLimit + 1, offset: 0, $0) }
        let shown = list.prefix(Self.reportListLimit)
        let view = ReportListView(
            status: param, count: shown.count, more: list.count > shown.count, reports: shown.map(ReportView.init),
            emptyText: param == "all" ? "No reports." : "No \(param) reports.")
        return AdminHeaders.html(AdminTemplates.render("reports", view))
    }

    func images() throws -> Response {
        let store = service.store
        let all = try store.read { try store.images.all($0) }
        return AdminHeaders.html(AdminTemplates.render("images", ImageListView(count: all.count, images: all.reversed().map(ImageView.init))))
    }

    /// Borderline known-content matches (verdict `review`) no operator has judged yet, newest
    /// first: they never label by themselves, so this is where a person sees and judges them.
    func knownReview() throws -> Response {
        let store = service.store
        let (all, reviewed, shown): (Int, Int, [KnownReviewView]) = try store.read { txn in
            let borderline = try store.known.recordedMatches(limit: Self.knownMatchScan, txn).filter { $0.match.verdict == "review" }
            let waiting = try borderline.filter { try store.known.review(ofMatch: $0.seq, txn) == nil }
            let views = try waiting.prefix(Self.knownReviewLimit).map { m in
                KnownReviewView(
                    m, reference: try store.known.reference(m.match.refId, txn),
                    flag: try m.uri.flatMap { try store.flags.record(uri: $0, txn) })
            }
            return (waiting.count, borderline.count - waiting.count, views)
        }
        let view = KnownReviewListView(count: all, reviewed: reviewed, shown: shown.count, truncated: all > shown.count, matches: shown)
        return AdminHeaders.html(AdminTemplates.render("known_review", view))
    }

    func history(_ request: Request) throws -> Response {
        guard let uri = request.uri.queryParameters["uri"].map(String.init), !uri.isEmpty else {
            throw XRPCError.invalidRequest("uri is required")
        }
        try requireSubject(uri)
        let entries = try History.entries(store: service.store, subject: uri)
        return AdminHeaders.html(AdminTemplates.render("history", HistoryView(subject: uri, entries: entries, limit: Self.historyLimit)))
    }

    func batch(_ id: String) throws -> Response {
        let store = service.store
        let (batch, flags): (BatchRecord?, [FlagRecord?]) = try store.read { txn in
            guard let b = try store.batches.batch(id, txn) else { return (nil, []) }
            return (b, try b.uris.map { try store.flags.record(uri: $0, txn) })
        }
        guard let batch else { throw XRPCError.notFound("no review batch \(id)") }
        return AdminHeaders.html(AdminTemplates.render("batch", BatchView(batch, flags: flags)))
    }
}
