import EventLog
import Foundation
import Hummingbird
import LabelerCore
import Projections

/// `/`, `/health`, `/metrics`, `/.well-known/did.json`, `/xrpc/_health`.
struct PublicRoutes {
    let service: LabelerService
    let config: ServerConfig
    let metrics: ServerMetrics

    func health() throws -> Response {
        try jsonResponse(["status": service.log.isClosed ? "stopping" : "ok", "did": service.did, "head": service.log.head])
    }

    func metricsText() throws -> Response {
        let labels = try service.store.read { try service.store.labels.count($0) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.render(log: service.log, labels: labels))))
    }

    func didDocument() throws -> Response {
        guard let doc = Identity.didDocument(did: service.did, key: service.key.publicKey, publicURL: config.publicURL) else {
            throw XRPCError.notFound("no DID document here: the labeler's DID is \(service.did), not a did:web for LABELER_PUBLIC_URL")
        }
        return try jsonResponse(doc)
    }

    func landing() -> Response {
        let did = HTML.escape(service.did)
        let key = HTML.escape(service.key.publicKey.didKey)
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>labeler</title></head>
            <body style="font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
            <h1>ATProto labeler</h1>
            <p>DID: <code>\(did)</code><br>Signing key: <code>\(key)</code><br>Head seq: <code>\(service.log.head)</code></p>
            <h2>Endpoints</h2>
            <ul>
            <li><code>GET /xrpc/com.atproto.label.queryLabels?uriPatterns=…</code> — signed labels, paged by seq</li>
            <li><code>GET /xrpc/com.atproto.label.subscribeLabels?cursor=…</code> — WebSocket stream of signed labels</li>
            <li><code>GET /.well-known/did.json</code> — DID document (did:web only)</li>
            <li><code>GET /health</code>, <code>GET /metrics</code></li>
            </ul>
            </body></html>
            """
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
