import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// The backend's machine API, kept from the original (`/internal/*` and `/admin/*` aliases):
/// which labels are in force on given URIs, and which URIs hold given values.
struct MachineRoutes {
    let service: LabelerService
    let maxBody: Int
    static let maxItems = 5000

    struct URIsBody: Decodable { var uris: [String] }
    struct ValuesBody: Decodable { var values: [String] }

    /// A current label (the latest per src, uri, cid, val) is in force when positive and not expired.
    static func inForce(_ l: Label, now: Int64) -> Bool {
        guard !l.isNegation else { return false }
        if let exp = l.exp, let e = Datetime.parse(exp), e <= now { return false }
        return true
    }

    /// Values in force on a URI.
    func activeValues(_ uri: String, now: Int64, _ txn: LMDBTransaction) throws -> [String] {
        var out: [String] = []
        for (_, l) in try service.store.labels.labels(uri: uri, txn) where Self.inForce(l, now: now) {
            if !out.contains(l.val) { out.append(l.val) }
        }
        return out.sorted()
    }

    func uris(_ request: Request) async throws -> [String] {
        let b = try await decodeBody(URIsBody.self, request, limit: maxBody)
        guard b.uris.count <= Self.maxItems else { throw XRPCError.invalidRequest("uris: at most \(Self.maxItems)") }
        return b.uris
    }

    func activeLabels(_ request: Request) async throws -> Response {
        let uris = try await uris(request)
        let now = Datetime.nowMicros()
        let active = try service.store.read { txn in
            try uris.filter { try activeValues($0, now: now, txn).contains(CopyrightFlagsProjection.labelValue) }
        }
        return try jsonResponse(["active_uris": active])
    }

    func labels(_ request: Request) async throws -> Response {
        let uris = try await uris(request)
        let now = Datetime.nowMicros()
        var out: [String: [String]] = [:]
        try service.store.read { txn in
            for u in uris {
                let v = try activeValues(u, now: now, txn)
                if !v.isEmpty { out[u] = v }
            }
        }
        return try jsonResponse(["labels": out])
    }

    func labelsByValue(_ request: Request) async throws -> Response {
        let b = try await decodeBody(ValuesBody.self, request, limit: maxBody)
        guard b.values.count <= 100 else { throw XRPCError.invalidRequest("values: at most 100") }
        let wanted = Set(b.values)
        let now = Datetime.nowMicros()
        // One pass over the current labels holding a wanted value, and the answer written as bytes:
        // with a million labels the per-URI lookups and a Foundation dictionary took half a minute.
        var order: [String] = []
        var held: [String: [String]] = [:]
        if !wanted.isEmpty {
            try service.store.read { txn in
                try service.store.labels.forEachCurrent(values: wanted, txn) { _, l in
                    guard Self.inForce(l, now: now) else { return }
                    if let vals = held[l.uri] {
                        if !vals.contains(l.val) { held[l.uri]!.append(l.val) }
                    } else {
                        order.append(l.uri)
                        held[l.uri] = [l.val]
                    }
                }
            }
        }
        var out = Array("{\"labels\":{".utf8)
        for (i, uri) in order.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.write(uri, into: &out)
            out.append(contentsOf: ":[".utf8)
            for (j, v) in held[uri]!.sorted().enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.write(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "}}".utf8)
        return jsonResponse(out)
    }

    /// URIs whose copyright flag was ever negated (the original's semantics).
    func negatedLabels(_ request: Request) async throws -> Response {
        let uris = try await uris(request)
        let negated = try service.store.read { txn in
            try uris.filter { u in
                try service.store.audit.seqs(for: u, txn).contains { seq in
                    guard let e = try service.store.reader.event(at: seq), case .labelApplied(let l) = try e.envelope.decodeEvent() else {
                        return false
                    }
                    return l.label.isNegation && l.label.val == CopyrightFlagsProjection.labelValue
                }
            }
        }
        return try jsonResponse(["negated_uris": negated])
    }

    func register(_ admin: RouterGroup<LabelerRequestContext>) {
        for prefix in ["/internal", "/admin"] {
            admin.post("\(prefix)/active-labels") { request, _ in try await activeLabels(request) }
            admin.post("\(prefix)/labels") { request, _ in try await labels(request) }
            admin.post("\(prefix)/labels-by-value") { request, _ in try await labelsByValue(request) }
            admin.post("\(prefix)/negated-labels") { request, _ in try await negatedLabels(request) }
        }
    }
}
