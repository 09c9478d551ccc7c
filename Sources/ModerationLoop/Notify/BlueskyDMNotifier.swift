/// A Bluesky DM from a bot account: an app-password session on the bot's PDS
/// (`com.atproto.server.createSession`), the recipient's DID (`com.atproto.identity.resolveHandle`,
/// unless a DID is given), then `chat.bsky.convo.getConvoForMembers` and
/// `chat.bsky.convo.sendMessage` through the PDS, which proxies them to the chat service named in
/// the `atproto-proxy` header. Nothing happens before `send` (a dry run never logs in).
public struct BlueskyDMNotifier: Notifier {
    let settings: LoopSettings.Bluesky
    let http: HTTPExchange
    static let chatProxy = "did:web:api.bsky.chat#bsky_chat"
    /// Bluesky's limit for one message.
    static let maxText = 1000

    public var destination: String { "Bluesky DM to @\(settings.recipient) from @\(settings.handle)" }

    public init(settings: LoopSettings.Bluesky, http: HTTPExchange) {
        self.settings = settings
        self.http = http
    }

    public func send(_ notice: ReviewNotice) async throws(NotifyFailure) {
        struct Login: Encodable {
            var identifier: String
            var password: String
        }
        struct Session: Decodable {
            var accessJwt: String
            var did: String
        }
        struct Resolved: Decodable { var did: String }
        struct Convo: Decodable {
            struct View: Decodable { var id: String }
            var convo: View
        }
        struct Message: Encodable {
            struct Input: Encodable { var text: String }
            var convoId: String
            var message: Input
        }
        struct Sent: Decodable { var id: String }

        let session = try await xrpc("com.atproto.server.createSession", as: Session.self) { () async throws(TransportFailure) in
            try await http.postJSON(url("com.atproto.server.createSession"), Login(identifier: settings.handle, password: settings.password))
        }
        let auth = [("Authorization", "Bearer \(session.accessJwt)")]
        var recipient = settings.recipient.hasPrefix("@") ? String(settings.recipient.dropFirst()) : settings.recipient
        if !recipient.hasPrefix("did:") {
            let handle = recipient
            recipient = try await xrpc("com.atproto.identity.resolveHandle", as: Resolved.self) { () async throws(TransportFailure) in
                try await http.get(url("com.atproto.identity.resolveHandle?handle=\(query(handle))"), headers: auth)
            }.did
        }
        let chat = auth + [("atproto-proxy", Self.chatProxy)]
        let members = recipient
        let convo = try await xrpc("chat.bsky.convo.getConvoForMembers", as: Convo.self) { () async throws(TransportFailure) in
            try await http.get(url("chat.bsky.convo.getConvoForMembers?members=\(query(members))"), headers: chat)
        }
        let text = String(notice.text.prefix(Self.maxText))
        _ = try await xrpc("chat.bsky.convo.sendMessage", as: Sent.self) { () async throws(TransportFailure) in
            try await http.postJSON(url("chat.bsky.convo.sendMessage"), Message(convoId: convo.convo.id, message: .init(text: text)), headers: chat)
        }
    }

    func url(_ method: String) -> String { join(settings.pdsURL, "/xrpc/\(method)") }

    func query(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? s
    }

    /// One XRPC call; every failure names the step, so "PDS down" reads as such.
    func xrpc<T: Decodable>(_ method: String, as: T.Type, _ call: () async throws(TransportFailure) -> HTTPAnswer) async throws(NotifyFailure) -> T {
        let answer: HTTPAnswer
        do { answer = try await call() } catch {
            throw NotifyFailure("Bluesky DM failed at \(method): the PDS \(settings.pdsURL) is \(error)")
        }
        guard answer.isSuccess else {
            throw NotifyFailure("Bluesky DM failed at \(method): \(settings.pdsURL) answered \(answer.status): \(answer.detail)")
        }
        do { return try answer.decode(T.self) } catch {
            throw NotifyFailure("Bluesky DM failed at \(method): unexpected answer: \(answer.detail)")
        }
    }
}

import Foundation
