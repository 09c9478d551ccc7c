import EventLog
import Foundation
import Hummingbird
import LabelerCore

/// `POST /emit-label` and `POST /emit-labels` (admin): sign, append, answer once durable.
struct EmitRoutes {
    let service: LabelerService
    let maxBody: Int

    /// One label; `val` defaults to `copyright-violation` as the original service's callers expect.
    struct EmitOne: StrictBody {
        static let fields: Set<String> = ["uri", "val", "cid", "neg", "exp"]
        var uri: String
        var val: String?
        var cid: String?
        var neg: Bool?
        var exp: String?
        var request: LabelRequest {
            LabelRequest(uri: uri, val: val ?? "copyright-violation", cid: cid, neg: neg, exp: exp)
        }
    }

    struct EmitMany: StrictBody {
        static let fields: Set<String> = ["labels"]
        var labels: [Strict<EmitOne>]
    }

    static let maxBulk = 1000

    func emitOne(_ request: Request) async throws -> Response {
        let body = try await decodeBody(EmitOne.self, request, limit: maxBody)
        let result = try await service.emit([body.request], actor: .admin())
        return labelsResponse(result, single: true)
    }

    func emitMany(_ request: Request) async throws -> Response {
        let body = try await decodeBody(EmitMany.self, request, limit: maxBody)
        guard !body.labels.isEmpty else { throw XRPCError.invalidRequest("labels must not be empty") }
        guard body.labels.count <= Self.maxBulk else {
            throw XRPCError.invalidRequest("at most \(Self.maxBulk) labels per request (got \(body.labels.count))")
        }
        let result = try await service.emit(body.labels.map(\.value.request), actor: .admin())
        return labelsResponse(result, single: false)
    }

    /// Values outside the recommended syntax are signed (the syntax allows them) with a warning
    /// in the answer: the protocol's guidance is to validate or at least warn.
    static func warnings(_ result: [(seq: UInt64, label: Label)], single: Bool) -> [String] {
        result.enumerated().compactMap { i, r in
            Syntax.isRecommendedLabelValue(r.label.val)
                ? nil
                : "\(single ? "" : "labels[\(i)].")val \(r.label.val): not lower-case a-z and inner '-' (after an optional '!'); clients such as Bluesky's ignore such values"
        }
    }

    func labelsResponse(_ result: [(seq: UInt64, label: Label)], single: Bool) -> Response {
        var out: [UInt8] = []
        let warnings = Self.warnings(result, single: single)
        if single, let r = result.first {
            out.append(contentsOf: "{\"seq\":\(r.seq),\"label\":".utf8)
            r.label.writeJSON(into: &out)
            if !warnings.isEmpty { Self.appendWarnings(warnings, &out) }
            out.append(UInt8(ascii: "}"))
        } else {
            out.append(contentsOf: "{\"labels\":[".utf8)
            for (i, r) in result.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: "{\"seq\":\(r.seq),\"label\":".utf8)
                r.label.writeJSON(into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
            if !warnings.isEmpty { Self.appendWarnings(warnings, &out) }
            out.append(UInt8(ascii: "}"))
        }
        return jsonResponse(out)
    }

    static func appendWarnings(_ warnings: [String], _ out: inout [UInt8]) {
        out.append(contentsOf: ",\"warnings\":".utf8)
        out.append(contentsOf: (try? JSONSerialization.data(withJSONObject: warnings, options: [.withoutEscapingSlashes])) ?? Data("[]".utf8))
    }
}
