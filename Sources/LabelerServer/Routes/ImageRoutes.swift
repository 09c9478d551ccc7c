import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// `GET /sensitive-images` (public), `POST /admin/sensitive-images`, `POST /admin/sensitive-images/remove`.
struct ImageRoutes {
    let service: LabelerService
    let maxBody: Int

    func list() throws -> Response {
        let store = service.store
        let images = try store.read { try store.images.all($0) }
        return try jsonResponse(["image_ids": images.compactMap(\.imageId), "urls": images.compactMap(\.url)])
    }

    func listAdmin() throws -> Response {
        let store = service.store
        let images = try store.read { try store.images.all($0) }
        return try jsonResponse(["images": images.map { i -> [String: Any] in
            ["id": i.id, "image_id": i.imageId ?? NSNull(), "url": i.url ?? NSNull(), "reason": i.reason ?? NSNull(),
             "flagged_by": i.flaggedBy ?? NSNull(), "flagged_at": i.flaggedAt]
        }])
    }

    struct AddBody: StrictBody {
        static let fields: Set<String> = ["image_id", "url", "reason", "flagged_by"]
        var image_id: String?
        var url: String?
        var reason: String?
        var flagged_by: String?
    }

    func add(_ request: Request) async throws -> Response {
        let b = try await decodeBody(AddBody.self, request, limit: maxBody)
        guard b.image_id?.isEmpty == false || b.url?.isEmpty == false else {
            throw XRPCError.invalidRequest("image_id or url is required")
        }
        if let u = b.url {
            guard let url = URL(string: u), ["http", "https"].contains(url.scheme ?? "") else {
                throw XRPCError.invalidRequest("url must be an http(s) URL")
            }
        }
        for (f, v) in [("image_id", b.image_id), ("url", b.url), ("reason", b.reason)] {
            try requireText(v, field: f, max: 2048)
        }
        try requireName(b.flagged_by, field: "flagged_by")
        let seq = try await service.log.append(
            SensitiveImageAdded(imageId: b.image_id, url: b.url, reason: b.reason, flaggedBy: b.flagged_by).event(actor: .admin(b.flagged_by)))
        return try jsonResponse(["id": seq, "message": "sensitive image added"])
    }

    struct RemoveBody: StrictBody {
        static let fields: Set<String> = ["id", "image_id", "url", "removed_by"]
        var id: UInt64?
        var image_id: String?
        var url: String?
        /// Who removed it (recorded as the event's actor `admin:NAME`).
        var removed_by: String?
    }

    /// Removes by id, or every image with the given image_id / url.
    func remove(_ request: Request) async throws -> Response {
        let b = try await decodeBody(RemoveBody.self, request, limit: maxBody)
        guard b.id != nil || b.image_id != nil || b.url != nil else { throw XRPCError.invalidRequest("id, image_id or url is required") }
        try requireName(b.removed_by, field: "removed_by")
        let images = service.store.images
        let seqs = try await service.log.append(deciding: { txn in
            try images.all(txn).filter { i in
                (b.id != nil && i.id == b.id) || (b.image_id != nil && i.imageId == b.image_id) || (b.url != nil && i.url == b.url)
            }.map { SensitiveImageRemoved(id: $0.id).event(actor: .admin(b.removed_by)) }
        })
        let what = b.id.map { "sensitive image \($0)" } ?? b.image_id.map { "image \($0)" } ?? b.url!
        return try jsonResponse([
            "removed": !seqs.isEmpty, "count": seqs.count, "message": seqs.isEmpty ? "\(what) not found" : "\(what) removed",
        ])
    }
}
