import Foundation
import Hummingbird
import Projections

/// `GET /admin/costs[?limit=N&before=SEQ]`: what scanning has cost, in total and per scan.
///
/// Totals: `scans`, `failed`, `flagged`, `estimated_requests` (= `billed_requests`, the name kept
/// from before scan plans), `full_scan_requests` (what full scans of the same uploads would have
/// cost), `saved_requests`, `savings_factor` (full ÷ billed), dollars at `usd_per_1000_requests`,
/// `unknown_duration_scans`, `escalated_scans`, and `by_plan` (per plan kind: scans, billed, full).
/// `recent`: the latest scans (newest first, `limit` default 50, at most 1000; page with
/// `before` = the last seq seen), each with its plan, requests billed and a full scan's cost.
struct CostRoutes {
    let service: LabelerService
    let usdPer1000: Double

    func costs(_ request: Request) throws -> Response {
        let limit = try request.queryInt("limit", in: 0...1000) ?? 50
        let before = try request.querySeq("before")
        let store = service.store
        let (t, recent) = try store.read { txn in
            (try store.scanStats.totals(txn), limit == 0 ? [] : try store.scanStats.recent(limit: limit, before: before, txn))
        }
        func usd(_ requests: Int) -> Double { (Double(requests) * usdPer1000 / 1000 * 100).rounded() / 100 }
        var byPlan: [String: Any] = [:]
        for (kind, s) in t.byPlan {
            byPlan[kind] = ["scans": s.scans, "billed_requests": s.billedRequests, "full_scan_requests": s.fullScanRequests]
        }
        var out: [String: Any] = [
            "scans": t.scans, "failed": t.failed, "flagged": t.flagged,
            "estimated_requests": t.estimatedRequests, "billed_requests": t.estimatedRequests,
            "full_scan_requests": t.fullScanRequests, "saved_requests": max(0, t.fullScanRequests - t.estimatedRequests),
            "usd_per_1000_requests": usdPer1000, "usd_billed": usd(t.estimatedRequests), "usd_full_scan": usd(t.fullScanRequests),
            "unknown_duration_scans": t.unknownDuration, "escalated_scans": t.escalated, "by_plan": byPlan,
            "recent": recent.map(Self.scanJSON),
        ]
        if t.estimatedRequests > 0 { out["savings_factor"] = (Double(t.fullScanRequests) / Double(t.estimatedRequests) * 100).rounded() / 100 }
        if let last = recent.last, recent.count == limit { out["cursor"] = String(last.seq) }
        return try jsonResponse(out)
    }

    static func scanJSON(_ r: ScanCostRecord) -> [String: Any] {
        var d: [String: Any] = [
            "seq": r.seq, "scan_id": r.scanId, "at": r.at, "status": r.status, "provider": r.provider,
            "billed_requests": r.billedRequests, "calls": r.calls, "is_flagged": r.flagged,
        ]
        if let v = r.uri { d["uri"] = v }
        if let v = r.mode { d["mode"] = v }
        if let v = r.kind { d["plan"] = v }
        if let v = r.fullScanRequests {
            d["full_scan_requests"] = v
            d["saved_requests"] = max(0, v - r.billedRequests)
        }
        if let v = r.contentHash { d["content_hash"] = v }
        return d
    }
}
