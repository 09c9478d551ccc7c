import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import LabelerCore
import Logging
import NIOCore

extension EventLogError: EventLogErrorMapping {
    var xrpc: XRPCError {
        switch self {
        case .storage(let e) where e.isOutOfSpace:
            XRPCError(.serviceUnavailable, "NotEnoughResources", "the labeler's storage is full; nothing was written, retry later")
        case .storage(let e) where e.isTooLarge:
            XRPCError(.badRequest, "InvalidRequest", "a value of this request is too long to be stored (keys are at most 511 bytes); nothing was written")
        case .closed: XRPCError(.serviceUnavailable, "NotEnoughResources", "the labeler is shutting down; nothing was written")
        case .rejected(let e): XRPCError.from(e)
        default: XRPCError(.internalServerError, "InternalServerError", "Internal Server Error")
        }
    }
}

/// Turns every thrown error into an XRPC JSON body, and counts responses for /metrics.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = metrics.routeName(request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.countRequest(route: route, status: Int(response.status.code))
            return response
        } catch {
            let x = XRPCError.from(error)
            if x.status.code >= 500 && ![501, 502, 503].contains(x.status.code) {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            metrics.countRequest(route: route, status: Int(x.status.code))
            return XRPCError.jsonResponse(status: x.status, name: x.name, message: x.message)
        }
    }
}

/// Admin routes need `X-Moderation-Key` equal to the admin token (constant-time comparison).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let given = request.headers[.moderationKey], constantTimeEqual(Array(given.utf8), token) else {
            throw XRPCError.authRequired
        }
        return try await next(request, context)
    }
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
    let n = max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        diff |= x ^ y
    }
    return diff == 0
}

extension HTTPField.Name {
    static let moderationKey = Self("X-Moderation-Key")!
}

/// Reads a JSON body of at most `limit` bytes (413 beyond) and decodes it strictly (400 on any
/// malformed or mistyped field).
/// Decodes a body whose keys are checked against its known fields (see `StrictBody`).
func decodeBody<T: StrictBody>(_ type: T.Type, _ request: Request, limit: Int) async throws -> T {
    try await decodeBody(Strict<T>.self, request, limit: limit).value
}

func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async throws -> T {
    var request = request
    let buffer: ByteBuffer
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw XRPCError(.contentTooLarge, "PayloadTooLarge", "request body is larger than \(limit) bytes")
    }
    do { buffer = try await request.collectBody(upTo: limit) } catch is NIOTooManyBytesError {
        throw XRPCError(.contentTooLarge, "PayloadTooLarge", "request body is larger than \(limit) bytes")
    } catch let e as HTTPError where e.status == .contentTooLarge {
        throw XRPCError(.contentTooLarge, "PayloadTooLarge", "request body is larger than \(limit) bytes")
    }
    if let ct = request.headers[.contentType], !ct.lowercased().hasPrefix("application/json") {
        throw XRPCError(.unsupportedMediaType, "InvalidRequest", "Content-Type must be application/json")
    }
    guard buffer.readableBytes > 0 else { throw XRPCError.invalidRequest("a JSON body is required") }
    if let key = DuplicateKeys.first(in: buffer.readableBytesView) {
        throw XRPCError.invalidRequest("the key \"\(key)\" is given twice in one object")
    }
    do { return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)) } catch let e as DecodingError {
        throw XRPCError.invalidRequest(XRPCError.describe(e))
    }
}

func jsonResponse(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
    let d = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return jsonResponse([UInt8](d), status: status)
}
