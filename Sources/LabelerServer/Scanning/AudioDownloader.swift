import AsyncHTTPClient
import Foundation
import LabelerCore
import NIOCore
import NIOHTTP1

/// Audio fetched by the labeler itself, in a private temporary file, with its content hash.
/// `remove()` deletes the file (the pipeline always calls it).
public struct DownloadedAudio: Sendable {
    public let path: String
    public let bytes: Int
    /// CIDv1 raw SHA-256 of the bytes, as ATProto names blobs.
    public let blobCID: String

    public func remove() { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
}

/// Streams an audio URL to a temporary file: refused beyond `maxBytes` (by Content-Length first,
/// then by counting), cut off after `timeout` for the whole exchange, any non-2xx status is a
/// failure. Redirects are followed here (at most `maxRedirects`), each hop's host checked by
/// `checkHost` (by default: no private or local addresses, `AddressPolicy`). Failures are
/// `ScanFailure(.download, …)`, recorded as failed scans.
public struct AudioDownloader: Sendable {
    let maxBytes: Int
    let timeout: Duration
    let directory: String
    let client: HTTPClient
    let checkHost: @Sendable (String) async throws(ScanFailure) -> Void
    static let maxRedirects = 5

    /// A client that never follows redirects itself, so every hop passes `checkHost`.
    static let noRedirects: HTTPClient = {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }()

    public init(maxBytes: Int, timeout: Duration, directory: String = NSTemporaryDirectory(), allowPrivate: Bool = false) {
        self.init(
            maxBytes: maxBytes, timeout: timeout, directory: directory,
            checkHost: allowPrivate ? Self.anyHost : Self.publicHostsOnly)
    }

    static let anyHost: @Sendable (String) async throws(ScanFailure) -> Void = { _ throws(ScanFailure) in }
    static let publicHostsOnly: @Sendable (String) async throws(ScanFailure) -> Void = { host throws(ScanFailure) in
        try await AddressPolicy.requirePublic(host)
    }

    init(maxBytes: Int, timeout: Duration, directory: String, checkHost: @escaping @Sendable (String) async throws(ScanFailure) -> Void) {
        self.directory = directory.hasSuffix("/") ? directory : directory + "/"
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.client = Self.noRedirects
        self.checkHost = checkHost
    }

    /// Beyond the download timeout, how long a scan may keep its directory (probe, fingerprint,
    /// the provider's answer) before a start-up treats it as left by a crash.
    static let staleMargin = Duration.seconds(3600)

    /// Removes `labeler-audio-*` directories in `directory` last modified more than `age` ago
    /// (a crash skips `remove()`); the directory may be shared with other running labelers, so
    /// recent ones are left alone. Returns how many were removed.
    @discardableResult
    static func removeStale(in directory: String, olderThan age: Duration, now: Date = Date()) -> Int {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return 0 }
        let cutoff = now.addingTimeInterval(-Double(age.components.seconds))
        var removed = 0
        for name in names where name.hasPrefix("labeler-audio-") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff else { continue }
            if (try? fm.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }

    public func download(_ url: String) async throws(ScanFailure) -> DownloadedAudio {
        let dir = directory + "labeler-audio-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ScanFailure(.download, "cannot create a temporary directory: \(error.localizedDescription)")
        }
        let path = dir + "/audio"
        do {
            let (bytes, digest) = try await fetch(url, to: path)
            return DownloadedAudio(path: path, bytes: bytes, blobCID: blobCID(sha256: digest))
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    func fetch(_ url: String, to path: String) async throws(ScanFailure) -> (Int, [UInt8]) {
        let client = client
        let checkHost = checkHost
        let maxBytes = maxBytes
        let timeout = timeout
        let seconds = AuddScanner.describe(timeout)
        do {
            return try await withThrowingTaskGroup(of: (Int, [UInt8])?.self) { group in
                group.addTask {
                    let deadline = NIODeadline.now() + TimeAmount(timeout)
                    var current = url
                    var hops = 0
                    var response: HTTPClientResponse
                    while true {
                        guard let target = URL(string: current), let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https",
                            let host = target.host, !host.isEmpty
                        else { throw ScanFailure(.download, "downloading the audio failed: not an http(s) URL after \(hops) redirect(s)") }
                        try await checkHost(host)
                        var request = HTTPClientRequest(url: current)
                        request.method = .GET
                        response = try await client.execute(request, deadline: deadline)
                        guard [301, 302, 303, 307, 308].contains(response.status.code), let location = response.headers.first(name: "location") else { break }
                        hops += 1
                        guard hops <= Self.maxRedirects else {
                            throw ScanFailure(.download, "downloading the audio failed: more than \(Self.maxRedirects) redirects")
                        }
                        guard let next = URL(string: location, relativeTo: target)?.absoluteString else {
                            throw ScanFailure(.download, "downloading the audio failed: a redirect to an invalid URL")
                        }
                        current = next
                    }
                    guard (200..<300).contains(response.status.code) else {
                        throw ScanFailure(.download, "downloading the audio failed: HTTP \(response.status.code)")
                    }
                    if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
                        throw ScanFailure(.download, "the audio is \(length) bytes, more than the \(maxBytes)-byte limit")
                    }
                    guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                        let file = FileHandle(forWritingAtPath: path)
                    else { throw ScanFailure(.download, "cannot write the temporary audio file") }
                    defer { try? file.close() }
                    let hash = SHA256Stream()
                    var total = 0
                    for try await buffer in response.body {
                        total += buffer.readableBytes
                        if total > maxBytes {
                            throw ScanFailure(.download, "the audio is more than the \(maxBytes)-byte limit")
                        }
                        buffer.withUnsafeReadableBytes { raw in
                            hash.update(raw)
                            file.write(Data(raw))
                        }
                    }
                    guard total > 0 else { throw ScanFailure(.download, "the audio is empty") }
                    return (total, hash.finish())
                }
                group.addTask {
                    try await Task.sleep(for: timeout + .milliseconds(250))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw ScanFailure(.download, "downloading the audio took longer than \(seconds)")
                }
                return result
            }
        } catch let e as ScanFailure {
            throw e
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout {
            throw ScanFailure(.download, "downloading the audio took longer than \(seconds)")
        } catch {
            throw ScanFailure(.download, "downloading the audio failed: \(error)")
        }
    }
}
