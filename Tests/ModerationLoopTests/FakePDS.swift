import Foundation

/// A Bluesky PDS with the chat service behind it: app-password sessions, handle resolution, and
/// the two chat methods, which must come with the session's token and the chat proxy header.
enum FakePDS {
    static let bot = "modbot.test", password = "app-pass-1234", botDid = "did:plc:modbot"
    static let recipient = "alice.test", recipientDid = "did:plc:alice"
    static let token = "access-jwt-1"

    static var environment: [String: String] {
        ["NOTIFY_BOT_HANDLE": bot, "NOTIFY_BOT_PASSWORD": password, "NOTIFY_RECIPIENT_HANDLE": recipient]
    }

    static let handler: FakeServer.Handler = { r in
        func err(_ s: Int, _ e: String, _ m: String) -> (Int, String) { (s, json(["error": e, "message": m])) }
        let authed = r.headers["authorization"] == "Bearer \(token)"
        let proxied = r.headers["atproto-proxy"] == "did:web:api.bsky.chat#bsky_chat"
        switch (r.method, r.path) {
        case ("POST", "/xrpc/com.atproto.server.createSession"):
            let b = r.json
            guard b["identifier"] as? String == bot, b["password"] as? String == password else {
                return err(401, "AuthenticationRequired", "Invalid identifier or password")
            }
            return (200, json(["accessJwt": token, "refreshJwt": "refresh", "did": botDid, "handle": bot]))
        case ("GET", "/xrpc/com.atproto.identity.resolveHandle"):
            guard r.query["handle"] == recipient else { return err(400, "InvalidRequest", "Unable to resolve handle") }
            return (200, json(["did": recipientDid]))
        case ("GET", "/xrpc/chat.bsky.convo.getConvoForMembers"):
            guard authed else { return err(401, "AuthenticationRequired", "no token") }
            guard proxied else { return err(400, "InvalidRequest", "chat methods need the atproto-proxy header") }
            guard r.query["members"] == recipientDid else { return err(400, "InvalidRequest", "unknown member") }
            return (200, json(["convo": ["id": "convo-1", "rev": "1", "members": [], "muted": false, "unreadCount": 0]]))
        case ("POST", "/xrpc/chat.bsky.convo.sendMessage"):
            guard authed else { return err(401, "AuthenticationRequired", "no token") }
            guard proxied else { return err(400, "InvalidRequest", "chat methods need the atproto-proxy header") }
            let b = r.json
            guard b["convoId"] as? String == "convo-1", let text = (b["message"] as? [String: Any])?["text"] as? String else {
                return err(400, "InvalidRequest", "bad message")
            }
            return (200, json(["id": "msg-1", "rev": "2", "text": text, "sender": ["did": botDid], "sentAt": "2026-01-01T00:00:00Z"]))
        default:
            return err(404, "MethodNotImplemented", "\(r.method) \(r.path)")
        }
    }

    /// The text of every message sent.
    static func sent(_ pds: FakeServer) -> [String] {
        pds.requests("/xrpc/chat.bsky.convo.sendMessage").compactMap { ($0.json["message"] as? [String: Any])?["text"] as? String }
    }
}
