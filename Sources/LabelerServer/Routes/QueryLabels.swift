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
        // The answer is written straight into the buffer that goes to the socket (no second copy
        // of up to 250 labels' JSON).
        var out = ByteBuffer()
        out.reserveCapacity(params.limit * 400 + 64)
        try store.read { txn in
            out.writeString("{\"labels\":[")
            var last: UInt64 = 0
            var first = true
            func separate() {
                if !first { out.writeInteger(UInt8(ascii: ",")) }
                first = false
            }
            func write(_ label: Label) {
                var json: [UInt8] = []
                label.writeJSON(into: &json)
                out.writeBytes(json)
            }
            var more: Bool? = nil
            if params.sources == nil {
                // The common case: copy each label's stored JSON; only labels an earlier key signed
                // are decoded, to be served re-signed.
                let epoch = try service.currentKeyEpoch(txn)
                more = try store.labels.queryJSON(txn, patterns: params.patterns, after: params.cursor, limit: params.limit) { seq, json in
                    separate()
                    if seq < epoch, let bytes = try store.stream.bytes(seq: seq, txn) {
                        write(try service.served(seq: seq, label: Label(dagCBOR: bytes), txn))
                    } else {
                        out.writeBytes(json)
                    }
                    last = seq
                }
            }
            if more == nil {
                let r = try store.labels.query(
                    txn, patterns: params.patterns, sources: params.sources, after: params.cursor, limit: params.limit)
                for item in r.labels {
                    separate()
                    write(try service.served(seq: item.seq, label: item.label, txn))
                    last = item.seq
                }
                more = r.more
            }
            out.writeString("]")
            if more == true, last > 0 { out.writeString(",\"cursor\":\"\(last)\"") }
            out.writeString("}")
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: out))
    }
}
