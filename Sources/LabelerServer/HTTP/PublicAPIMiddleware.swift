import HTTPTypes
import Hummingbird

/// The public API (`/xrpc/…`, `/.well-known/did.json`) for browsers on other origins: CORS
/// headers on every answer, errors included, and preflights answered, as Ozone does. Admin
/// routes get neither, so a page elsewhere cannot send the admin key. A known GET-only method
/// called with another HTTP method is a 405 (the protocol's "405 non-GET"), not a 404.
struct PublicAPIMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard PublicAPI.contains(path) else { return try await next(request, context) }
        if request.method == .options {
            var headers = PublicAPI.cors
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] = "Content-Type, Authorization, atproto-accept-labelers, atproto-proxy"
            headers[.accessControlMaxAge] = "86400"
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        if request.method == .head, PublicAPI.getOnly.contains(path) {
            // Routed as GET (the router registers HEAD for these), answered without the body.
            let full = try await next(request, context)
            response = Response(status: full.status, headers: full.headers)
        } else if PublicAPI.getOnly.contains(path), request.method != .get {
            response = XRPCError.jsonResponse(status: .methodNotAllowed, name: "MethodNotAllowed", message: "\(path) takes GET")
            response.headers[.allow] = "GET"
        } else {
            response = try await next(request, context)
        }
        for field in PublicAPI.cors { response.headers[field.name] = field.value }
        return response
    }
}

enum PublicAPI {
    static func contains(_ path: String) -> Bool { path.hasPrefix("/xrpc/") || path == "/.well-known/did.json" }
    /// The GET-only methods (registered with HEAD too; any other HTTP method is a 405).
    static let getOnly: Set<String> = [
        "/xrpc/com.atproto.label.queryLabels", "/xrpc/com.atproto.label.subscribeLabels", "/xrpc/_health", "/.well-known/did.json",
    ]
    static let cors: HTTPFields = [.accessControlAllowOrigin: "*"]
}
