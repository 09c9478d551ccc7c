import EventLog
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import LabelerCore
import Logging
import NIOCore
import Projections
import ServiceLifecycle

public struct LabelerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address (for per-client rate limits).
    public let client: String

    public init(source: Source) {
        coreContext = .init(source: source)
        client = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    public var maxUploadSize: Int { 1 << 20 }
}

/// Closes the labeler (finishing acknowledged appends) when the service group shuts down.
struct LabelerLifecycle: Service {
    let service: LabelerService

    func run() async throws {
        try? await gracefulShutdown()
        service.log.headSignal.shutdown()
        service.close()
    }
}

/// Routes anyone may call; every other route sits behind the admin key (a test enumerates the
/// router against this list, so a new route cannot be left open by accident).
public let publicRoutes: Set<String> = [
    "GET /", "GET /health", "GET /metrics", "GET /.well-known/did.json", "GET /xrpc/_health",
    "GET /xrpc/com.atproto.label.queryLabels", "GET /xrpc/com.atproto.label.subscribeLabels",
    "GET /xrpc/{method}", "POST /xrpc/{method}", "POST /xrpc/com.atproto.moderation.createReport",
    "GET /sensitive-images",
    "HEAD /.well-known/did.json", "HEAD /xrpc/_health", "HEAD /xrpc/com.atproto.label.queryLabels",
    "HEAD /xrpc/com.atproto.label.subscribeLabels",
    // The admin UI's page shells and static files: they hold no data; every data call they make
    // is an admin route (`/admin/partials/…` and the JSON commands) sent with the key.
    "GET /admin", "GET /admin/review/{id}", "GET /admin/static/{file}",
]

/// The one place that wires the labeler: the executable and the tests both call it.
public func buildApplication(
    service: LabelerService, config: ServerConfig, logger: Logger
) -> some ApplicationProtocol {
    let metrics = ServerMetrics()
    let router = buildRouter(service: service, config: config, metrics: metrics)
    let subscribe = SubscribeLabelsRoute(
        service: service, metrics: metrics, backfills: AsyncSemaphore(permits: config.maxConcurrentBackfills),
        drainTimeout: .seconds(Int64(config.subscriberDrainTimeoutSeconds)), sendBufferBytes: config.subscriberSendBufferBytes)
    // The WebSocket upgrade is decided here, before the router, where the connection's channel is
    // at hand and nothing per-request outlives the connection (the router-based upgrade keeps each
    // connection's request context alive in a reference cycle: a few KB leaked per subscriber).
    var app = Application(
        router: router,
        // Keep-alive connections idle this long are closed (clients reconnect); upgraded
        // WebSockets are not HTTP connections any more and are not affected. A first request
        // head must arrive within HEADER_TIMEOUT_SECONDS (30) and 64 KB (`FirstRequestDeadline`).
        server: HTTPServerBuilder { responder in
            FirstRequestDeadlineChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, configuration: .init(http1: .init(idleTimeout: .seconds(75)))
                ) { request, channel, _ in
                    guard let path = request.path, SubscribeLabelsRoute.matches(path) else { return .dontUpgrade }
                    return .upgrade([:]) { inbound, outbound, context in
                        try await subscribe.run(inbound, outbound, path: path, channel: channel, logger: context.logger)
                    }
                },
                deadline: .seconds(Int64(config.headerTimeoutSeconds)), maxBytes: 64 * 1024)
        },
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "labeler"),
        logger: logger)
    app.addServices(LabelerLifecycle(service: service))
    return app
}

public func buildRouter(service: LabelerService, config: ServerConfig) -> Router<LabelerRequestContext> {
    buildRouter(service: service, config: config, metrics: ServerMetrics())
}

func buildRouter(service: LabelerService, config: ServerConfig, metrics: ServerMetrics) -> Router<LabelerRequestContext> {
    let router = Router(context: LabelerRequestContext.self)
    // Outermost, so that error answers carry CORS headers too.
    router.add(middleware: PublicAPIMiddleware())
    router.add(middleware: ErrorMiddleware(metrics: metrics))

    let pub = PublicRoutes(service: service, config: config, metrics: metrics)
    router.get("/") { _, _ in pub.landing() }
    router.get("/health") { _, _ in try pub.health() }
    router.get("/metrics") { _, _ in try pub.metricsText() }
    /// The public API's GET methods (`PublicAPI.getOnly`), and HEAD as GET without the body
    /// (PublicAPIMiddleware drops it).
    func getAndHead(_ path: String, _ handler: @escaping @Sendable (Request, LabelerRequestContext) async throws -> Response) {
        router.get(RouterPath(path), use: handler)
        router.on(RouterPath(path), method: .head, use: handler)
    }
    getAndHead("/.well-known/did.json") { _, _ in try pub.didDocument() }
    getAndHead("/xrpc/_health") { _, _ in try jsonResponse(["version": "labeler/1"]) }

    let query = QueryLabelsRoute(service: service)
    getAndHead("/xrpc/com.atproto.label.queryLabels") { request, _ in try query.handle(request) }

    // A plain GET (no Upgrade) gets its answer as XRPC JSON: 400 for a bad cursor, else 426.
    getAndHead("/xrpc/com.atproto.label.subscribeLabels") { request, _ in try SubscribeLabelsRoute.refusePlainGet(request) }
    router.on("/xrpc/{method}", method: .post) { _, ctx -> Response in
        throw XRPCError(.notImplemented, "MethodNotImplemented", "Method Not Implemented: \(ctx.parameters.get("method") ?? "")")
    }
    router.get("/xrpc/{method}") { _, ctx -> Response in
        throw XRPCError(.notImplemented, "MethodNotImplemented", "Method Not Implemented: \(ctx.parameters.get("method") ?? "")")
    }

    let admin = router.group().add(middleware: AdminAuthMiddleware(token: Array(config.adminToken.utf8)))
    let emit = EmitRoutes(service: service, maxBody: config.maxBodyBytes)
    admin.post("/emit-label") { request, _ in try await emit.emitOne(request) }
    admin.post("/emit-labels") { request, _ in try await emit.emitMany(request) }
    ScanRoutes(service: service, config: config).register(admin)

    MachineRoutes(service: service, maxBody: config.maxBodyBytes).register(admin)
    let costs = CostRoutes(service: service, usdPer1000: config.scan.usdPer1000Requests)
    admin.get("/admin/costs") { request, _ in try costs.costs(request) }
    let known = KnownContentRoutes(service: service, settings: config.scan, maxBody: config.maxBodyBytes)
    admin.get("/admin/known-content") { request, _ in try known.list(request) }
    admin.post("/admin/known-content") { request, _ in try await known.add(request) }
    admin.post("/admin/known-content/remove") { request, _ in try await known.remove(request) }
    admin.post("/admin/known-content/matches/{seq}/review") { request, ctx in try await known.review(ctx.parameters.get("seq") ?? "", request) }

    let commands = ModerationCommands(service: service, knownContent: config.scan.known)
    let flags = FlagRoutes(service: service, commands: commands, maxBody: config.maxBodyBytes)
    admin.post("/admin/context") { request, _ in try await flags.context(request) }
    admin.get("/admin/flags") { request, _ in try flags.list(request) }
    admin.post("/admin/resolve") { request, _ in try await flags.resolve(request) }

    let batches = BatchRoutes(service: service, commands: commands, maxBody: config.maxBodyBytes)
    admin.post("/admin/batches") { request, _ in try await batches.create(request) }
    admin.get("/admin/review/{id}/data") { _, ctx in try batches.data(ctx.parameters.get("id") ?? "") }
    admin.post("/admin/review/{id}/announced") { request, ctx in try await batches.announced(ctx.parameters.get("id") ?? "", request) }
    admin.post("/admin/review/{id}/submit") { request, ctx in try await batches.submit(ctx.parameters.get("id") ?? "", request) }

    let images = ImageRoutes(service: service, maxBody: config.maxBodyBytes)
    router.get("/sensitive-images") { _, _ in try images.list() }
    admin.get("/admin/sensitive-images") { _, _ in try images.listAdmin() }
    admin.post("/admin/sensitive-images") { request, _ in try await images.add(request) }
    admin.post("/admin/sensitive-images/remove") { request, _ in try await images.remove(request) }

    let reports = ReportRoutes(service: service, maxBody: config.maxBodyBytes, limiter: RateLimiter(perMinute: config.reportsPerMinute))
    router.post("/xrpc/com.atproto.moderation.createReport") { request, ctx in try await reports.create(request, client: ctx.client) }
    admin.get("/admin/reports") { request, _ in try reports.list(request) }
    admin.post("/admin/reports/{id}/resolve") { request, ctx in try await reports.resolve(ctx.parameters.get("id") ?? "", request) }

    let ui = AdminUI(service: service, metrics: metrics, usdPer1000: config.scan.usdPer1000Requests)
    ui.registerPages(router)
    ui.registerPartials(admin)

    return router
}
