import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// `GET /xrpc/com.atproto.label.queryLabels`, per the lexicon: repeated `uriPatterns` (exact, or
/// a prefix ending in `*`; `*` alone is everything; `_` and `%` are literal), `sources`, `limit`
/// 1–250 (default 50), `cursor`. Latest label per (src, uri, cid, val), negations included, in
/// seq order; the cursor is the last seq returned, so paging returns every label exactly once.
struct QueryLabelsRoute {
    let service: LabelerService

    struct Params: Equatable {
        var patterns: [CurrentLabelsProjection.Pattern]
        var sources: Set<String>?
        var limit: Int
        var cursor: UInt64
    }

    static func parse(_ q: [(String, String)]) throws -> Params {
        var patterns: [CurrentLabelsProjection.Pattern] = []
        var sources: Set<String>? = nil
        var limit = 50
        var cursor: UInt64 = 0
        var sawLimit = false, sawCursor = false
        for (k, v) in q {
            switch k {
            case "uriPatterns", "uriPatterns[]":
                if v == "*" {
                    patterns.append(.all)
                } else if let star = v.firstIndex(of: "*") {
                    guard star == v.index(before: v.endIndex) else {
                        throw XRPCError.invalidRequest("invalid pattern: \(v) (only a trailing * is supported)")
                    }
                    patterns.append(.prefix(String(v.dropLast())))
                } else {
                    guard !v.isEmpty else { throw XRPCError.invalidRequest("uriPatterns must not be empty strings") }
                    patterns.append(.exact(v))
                }
            case "sources", "sources[]":
                guard Syntax.isValidDID(v) else { throw XRPCError.invalidRequest("sources must be DIDs: \(v)") }
                sources = (sources ?? []).union([v])
            case "limit":
                guard !sawLimit else { throw XRPCError.invalidRequest("limit given more than once") }
                sawLimit = true
                guard let n = Int(v) else { throw XRPCError.invalidRequest("limit must be an integer") }
                guard n >= 1 else { throw XRPCError.invalidRequest("limit can not be less than 1") }
                guard n <= 250 else { throw XRPCError.invalidRequest("limit can not be greater than 250") }
                limit = n
            case "cursor":
                guard !sawCursor else { throw XRPCError.invalidRequest("cursor given more than once") }
                sawCursor = true
                guard let c = UInt64(v), c < (1 << 53) else { throw XRPCError.invalidRequest("invalid cursor") }
                cursor = c
            default:
                break  // unknown parameters are ignored, as XRPC servers do
            }
        }
        guard !patterns.isEmpty else { throw XRPCError.invalidRequest("Params must have the property \"uriPatterns\"") }
        return Params(patterns: patterns, sources: sources, limit: limit, cursor: cursor)
    }

    func handle(_ request: Request) throws -> Response {
        let params = try Self.parse(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
        let store = service.store
        var out: [UInt8] = []
        out.reserveCapacity(params.limit * 400 + 64)
        try store.read { txn in
            let r = try store.labels.query(
                txn, patterns: params.patterns, sources: params.sources, after: params.cursor, limit: params.limit)
            out.append(UInt8(ascii: "{"))
            if r.more, let last = r.labels.last {
                out.append(contentsOf: "\"cursor\":\"\(last.seq)\",".utf8)
            }
            out.append(contentsOf: "\"labels\":[".utf8)
            for (i, item) in r.labels.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try service.served(seq: item.seq, label: item.label, txn).writeJSON(into: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        return jsonResponse(out)
    }
}
