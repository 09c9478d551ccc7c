import Foundation
import Hummingbird
import LabelerCore

/// Every error the labeler answers with: `{"error": Name, "message": text}` and a 4xx/5xx status.
public struct XRPCError: HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let name: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ name: String, _ message: String) {
        self.status = status
        self.name = name
        self.message = message
    }

    public var description: String { "\(status.code) \(name): \(message)" }

    public static func invalidRequest(_ m: String) -> XRPCError { XRPCError(.badRequest, "InvalidRequest", m) }
    public static func notFound(_ m: String) -> XRPCError { XRPCError(.notFound, "NotFound", m) }
    public static let authRequired = XRPCError(
        .unauthorized, "AuthenticationRequired", "a valid X-Moderation-Key header is required")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.jsonResponse(status: status, name: name, message: message)
    }

    static func jsonResponse(status: HTTPResponse.Status, name: String, message: String) -> Response {
        var out: [UInt8] = []
        out.append(contentsOf: "{\"error\":".utf8)
        JSONText.write(name, into: &out)
        out.append(contentsOf: ",\"message\":".utf8)
        JSONText.write(message, into: &out)
        out.append(UInt8(ascii: "}"))
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    /// Maps any error to its XRPC form (internal details are logged, not sent).
    static func from(_ error: any Error) -> XRPCError {
        switch error {
        case let e as XRPCError: return e
        case let e as LabelValidationError: return .invalidRequest(e.description)
        case let e as ModerationCommands.CommandError:
            return XRPCError(HTTPResponse.Status(code: e.status), e.name, e.description)
        case let e as EventLogErrorMapping: return e.xrpc
        case let e as HTTPError:
            let name: String = switch e.status.code {
            case 400: "InvalidRequest"
            case 401: "AuthenticationRequired"
            case 404: "NotFound"
            case 405: "MethodNotAllowed"
            case 413: "PayloadTooLarge"
            case 415: "UnsupportedMediaType"
            default: e.status.code >= 500 ? "InternalServerError" : "InvalidRequest"
            }
            let message = e.body ?? (e.status.code == 413 ? "request body is too large" : e.status.reasonPhrase)
            return XRPCError(e.status, name, message)
        case let e as DecodingError: return .invalidRequest(describe(e))
        default: return XRPCError(.internalServerError, "InternalServerError", "Internal Server Error")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            let s = p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return s.hasPrefix(".") ? String(s.dropFirst()) : (s.isEmpty ? "body" : s)
        }
        switch e {
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])) is required"
        case .typeMismatch(let t, let c): return "\(path(c.codingPath)) must be \(typeName(t))"
        case .valueNotFound(let t, let c): return "\(path(c.codingPath)) must be \(typeName(t)), not null"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "body is not valid JSON" : "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "invalid request body"
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
        case is Double.Type: "a number"
        default: String(describing: t).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

/// Errors of lower layers that have a meaning for clients.
protocol EventLogErrorMapping: Error { var xrpc: XRPCError { get } }
