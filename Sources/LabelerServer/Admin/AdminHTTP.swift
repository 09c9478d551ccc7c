import Foundation
import HTTPTypes
import Hummingbird
import LabelerCore
import NIOCore

/// Headers every admin page and partial carries: scripts and styles only from the labeler itself,
/// no framing, no referrer, no MIME sniffing, never cached (they show moderation data).
enum AdminHeaders {
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
        "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static var security: HTTPFields {
        [
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
            .xFrameOptions: "DENY",
            .crossOriginOpenerPolicy: "same-origin",
        ]
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = security
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A file the labeler serves under `/admin/static/`, compiled into the binary.
struct AdminAsset: Sendable {
    let bytes: [UInt8]
    let contentType: String
    /// A strong validator: the first 16 hex digits of the content's SHA-256.
    let version: String

    init(_ bytes: [UInt8], _ contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
        version = String(Hex.encode(SHA256.hash(bytes)).prefix(16))
    }
}

enum AdminAssets {
    static let files: [String: AdminAsset] = [
        "admin.css": AdminAsset(PackageResources.admin_css, "text/css; charset=utf-8"),
        "common.js": AdminAsset(PackageResources.common_js, "text/javascript; charset=utf-8"),
        "dashboard.js": AdminAsset(PackageResources.dashboard_js, "text/javascript; charset=utf-8"),
        "review.js": AdminAsset(PackageResources.review_js, "text/javascript; charset=utf-8"),
        "icon.svg": AdminAsset(PackageResources.icon_svg, "image/svg+xml"),
    ]

    /// The URL pages link to: versioned by content, so a new build is fetched at once and an
    /// unchanged file is cached for a year.
    static func url(_ name: String) -> String {
        guard let a = files[name] else { preconditionFailure("no admin asset \(name)") }
        return "/admin/static/\(name)?v=\(a.version)"
    }

    /// `GET /admin/static/{file}`: immutable when asked for the current version, revalidated
    /// otherwise (ETag, 304).
    static func serve(_ name: String, _ request: Request) throws -> Response {
        guard let a = files[name] else { throw XRPCError.notFound("no static file \(name)") }
        let etag = "\"\(a.version)\""
        var headers = AdminHeaders.security
        headers[.contentType] = a.contentType
        headers[.eTag] = etag
        headers[.cacheControl] =
            request.uri.queryParameters["v"].map(String.init) == a.version
            ? "public, max-age=31536000, immutable" : "no-cache"
        if let inm = request.headers[.ifNoneMatch], inm.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: a.bytes)))
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
}
