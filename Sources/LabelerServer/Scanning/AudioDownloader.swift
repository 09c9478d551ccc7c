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
/// failure. Failures are `ScanFailure(.download, …)`, recorded as failed scans.
public struct AudioDownloader: Sendable {
    let maxBytes: Int
    let timeout: Duration
    let directory: String
    let client: HTTPClient

    public init(maxBytes: Int, timeout: Duration, directory: String = NSTemporaryDirectory(), client: HTTPClient = .shared) {
        self.directory = directory.hasSuffix("/") ? directory : directory + "/"
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.client = client
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
        let maxBytes = maxBytes
        let timeout = timeout
        let seconds = AuddScanner.describe(timeout)
        do {
            return try await withThrowingTaskGroup(of: (Int, [UInt8])?.self) { group in
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .GET
                    let response = try await client.execute(request, deadline: .now() + TimeAmount(timeout))
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
