import Foundation
import EventLog
import LabelerCore

/// Everything `labeler serve` needs, from flags and environment (flags win), with first-run
/// defaults created in the data directory.
public struct ServerConfig: Sendable {
    public var dataDir: String
    public var host: String
    public var port: Int
    public var adminToken: String
    public var signingKey: SigningKey
    /// Nil: the DID recorded in the log, or the signing key's did:key on first run.
    public var did: String?
    public var publicURL: String?
    /// AuDD: scanning is on when a key is configured.
    public var auddAPIKey: String?
    public var auddAPIURL = "https://enterprise.audd.io/"
    public var scanTimeoutSeconds = 60
    /// The flag policy's name (`dominant` default, or `presence`) and its share threshold.
    public var flagPolicy = "dominant"
    public var flagThreshold = 0.3
    /// Scan plans, downloads, the verdict cache and known-content matching.
    public var scan = ScanSettings()
    /// Reports accepted per client per minute.
    public var reportsPerMinute = 10
    public var maxBodyBytes = 1 << 20
    public var maxConcurrentBackfills = 8
    /// A subscriber whose socket has not taken a page of frames in this time is closed.
    public var subscriberDrainTimeoutSeconds = 30
    /// How long a connection may take to send its first request's head (`FirstRequestDeadline`).
    public var headerTimeoutSeconds = 30
    /// SO_SNDBUF for subscriber sockets; nil leaves the kernel's autotuning (up to tcp_wmem's max).
    public var subscriberSendBufferBytes: Int?
    /// Where the admin token was created on this run, to tell the operator.
    public var createdTokenPath: String?
    public var createdKeyPath: String?
    /// The key came from LABELER_SIGNING_KEY (not the directory's key file).
    public var signingKeyFromEnvironment = false

    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    public static func keyPath(_ dataDir: String) -> String { dataDir + "/signing-key" }
    public static func tokenPath(_ dataDir: String) -> String { dataDir + "/admin-token" }

    /// Resolves the configuration; a bad value stops here with a one-line reason.
    public static func resolve(
        dataDir: String?, host: String?, port: Int?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfig {
        let dir = dataDir ?? "./data"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw Error("cannot create the data directory \(dir): \(error.localizedDescription)")
        }
        var createdToken: String? = nil
        var createdKey: String? = nil

        let key: SigningKey
        if let hex = environment["LABELER_SIGNING_KEY"], !hex.isEmpty {
            do { key = try SigningKey(hex: hex) } catch {
                throw Error("LABELER_SIGNING_KEY is not a 64-digit hex secp256k1 private key")
            }
        } else if let hex = try wrap({ try SecretFile.read(keyPath(dir)) }) {
            do { key = try SigningKey(hex: hex) } catch {
                throw Error("\(keyPath(dir)) does not hold a 64-digit hex secp256k1 private key")
            }
        } else if let hex = try wrap({ try SecretFile.read(keyPath(dir) + ".next") }), let next = try? SigningKey(hex: hex) {
            // A rotation by an earlier version that moved the old key away and stopped before
            // moving the new one in (its event was appended first): `LabelerService` finishes it
            // once the log confirms the key.
            key = next
        } else if let head = try? EventLogReader(env: LMDBEnvironment(path: dir, mustExist: true)).storedHead(), head > 0 {
            // A new key could never sign for this log: its first event names the labeler's key.
            throw Error("\(dir) holds a labeler's log but no signing key: put that labeler's key in \(keyPath(dir)) (mode 0600) or set LABELER_SIGNING_KEY")
        } else {
            key = SigningKey.generate()
            try wrap { try SecretFile.write(keyPath(dir), key.hex) }
            createdKey = keyPath(dir)
        }

        let token: String
        if let t = environment["MODERATION_AUTH_TOKEN"], !t.isEmpty {
            token = t
        } else if let t = try wrap({ try SecretFile.read(tokenPath(dir)) }), !t.isEmpty {
            token = t
        } else {
            token = Base64.encodeUnpadded(secureRandomBytes(32)).replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "+", with: "-")
            try wrap { try SecretFile.write(tokenPath(dir), token) }
            createdToken = tokenPath(dir)
        }
        guard token.utf8.count >= 16 else { throw Error("MODERATION_AUTH_TOKEN must be at least 16 characters") }

        let did = environment["LABELER_DID"].flatMap { $0.isEmpty ? nil : $0 }
        if let did, !Syntax.isValidDID(did) { throw Error("LABELER_DID is not a valid DID: \(did)") }
        if let did, did.hasPrefix("did:key:") {
            // A did:key is a public key: labels signed by any other key would verify for no one.
            guard let named = try? PublicKey(didKey: did) else { throw Error("LABELER_DID is not a valid did:key: \(did)") }
            guard named == key.publicKey else {
                throw Error("LABELER_DID is the did:key of another key than the signing key (\(key.publicKey.didKey))")
            }
        }
        let publicURL = environment["LABELER_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let u = publicURL {
            guard let url = URL(string: u), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil, url.user == nil, url.password == nil
            else { throw Error("LABELER_PUBLIC_URL must be scheme://host[:port] with no path, query, fragment or user: \(u)") }
        }
        var scanning: (key: String?, url: String?, policy: String?, threshold: Double?) = (nil, nil, nil, nil)
        scanning.key = environment["AUDD_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        scanning.url = environment["AUDD_API_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let u = scanning.url, URL(string: u)?.scheme == nil { throw Error("AUDD_API_URL is not a URL: \(u)") }
        scanning.policy = environment["FLAG_POLICY"].flatMap { $0.isEmpty ? nil : $0 }
        if let p = scanning.policy, !["dominant", "presence"].contains(p) {
            throw Error("FLAG_POLICY must be dominant or presence, not \(p)")
        }
        if let t = environment["FLAG_THRESHOLD"], !t.isEmpty {
            guard let v = Double(t), v > 0, v <= 1 else { throw Error("FLAG_THRESHOLD must be a number in (0, 1]") }
            scanning.threshold = v
        }
        var scanTimeout: Int? = nil
        if let t = environment["SCAN_TIMEOUT_SECONDS"], !t.isEmpty {
            guard let v = Int(t), (1...600).contains(v) else { throw Error("SCAN_TIMEOUT_SECONDS must be 1-600") }
            scanTimeout = v
        }
        var drainTimeout: Int? = nil
        if let t = environment["SUBSCRIBER_DRAIN_TIMEOUT_SECONDS"], !t.isEmpty {
            guard let v = Int(t), (1...3600).contains(v) else { throw Error("SUBSCRIBER_DRAIN_TIMEOUT_SECONDS must be 1-3600") }
            drainTimeout = v
        }
        var sendBuffer: Int? = nil
        if let t = environment["SUBSCRIBER_SEND_BUFFER_BYTES"], !t.isEmpty {
            guard let v = Int(t), (4096...(64 << 20)).contains(v) else {
                throw Error("SUBSCRIBER_SEND_BUFFER_BYTES must be 4096-67108864")
            }
            sendBuffer = v
        }
        let scanSettings: ScanSettings
        do { scanSettings = try ScanSettings.resolve(environment) } catch { throw Error(error.description) }
        let p = port ?? 8080
        guard (0...65535).contains(p) else { throw Error("--port must be 0-65535") }
        var config = ServerConfig(
            dataDir: dir, host: host ?? "127.0.0.1", port: p, adminToken: token, signingKey: key, did: did,
            publicURL: publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }, createdTokenPath: createdToken,
            createdKeyPath: createdKey)
        config.signingKeyFromEnvironment = environment["LABELER_SIGNING_KEY"].map { !$0.isEmpty } ?? false
        config.auddAPIKey = scanning.key
        if let u = scanning.url { config.auddAPIURL = u }
        if let p = scanning.policy { config.flagPolicy = p }
        if let t = scanning.threshold { config.flagThreshold = t }
        if let t = scanTimeout { config.scanTimeoutSeconds = t }
        if let t = drainTimeout { config.subscriberDrainTimeoutSeconds = t }
        if let t = environment["HEADER_TIMEOUT_SECONDS"], !t.isEmpty {
            guard let v = Int(t), (1...600).contains(v) else { throw Error("HEADER_TIMEOUT_SECONDS must be 1-600") }
            config.headerTimeoutSeconds = v
        }
        config.subscriberSendBufferBytes = sendBuffer
        config.scan = scanSettings
        return config
    }

    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SecretFile.Error { throw Error(e.description) }
    }
}
