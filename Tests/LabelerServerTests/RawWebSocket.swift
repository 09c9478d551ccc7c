import Foundation
import LabelerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The close frame a subscription ended with.
struct SubscriptionClose: Sendable, Equatable {
    let code: Int
    let reason: String
}

/// A small blocking WebSocket client for the subscribeLabels tests: a TCP socket, the RFC 6455
/// handshake, unmasked server frames in, masked frames out. The tests used the swift-websocket
/// client before; it sometimes never delivered frames that reached it in the same read as the
/// `101 Switching Protocols` response (an error frame and a close sent at once after the upgrade),
/// so the future-cursor and bad-cursor tests hung until their timeout about one run in five.
/// This client reads the socket byte for byte and cannot lose them.
final class RawWebSocket {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var closeSent = false

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects to 127.0.0.1:`port` and upgrades `path` (with its query). Every read gives up
    /// after `readTimeout`.
    init(port: Int, path: String, readTimeout: Duration) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let seconds = readTimeout.components.seconds
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(readTimeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect: \(message)")
        }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        let head = try readHead()
        guard head.hasPrefix("HTTP/1.1 101") else {
            Glibc.close(fd)
            throw Failure(description: "the upgrade was refused: \(head.split(separator: "\r\n").first ?? "")")
        }
    }

    deinit { Glibc.close(fd) }

    enum Message {
        case binary([UInt8])
        case text(String)
        case close(SubscriptionClose)
    }

    /// The next data or close message; nil when the server closed the connection.
    func next() throws -> Message? {
        var payload: [UInt8] = []
        var first: UInt8?
        while true {
            guard let header = try readByte() else { return nil }
            let opcode = header & 0x0F
            let length7 = try require(readByte()) & 0x7F
            var length = UInt64(length7)
            if length7 == 126 { length = try readBytes(2).reduce(0) { $0 << 8 | UInt64($1) } }
            if length7 == 127 { length = try readBytes(8).reduce(0) { $0 << 8 | UInt64($1) } }
            let body = try readBytes(Int(length))
            switch opcode {
            case 0x8:
                let code = body.count >= 2 ? Int(body[0]) << 8 | Int(body[1]) : 1005
                let reason = String(decoding: body.dropFirst(2), as: UTF8.self)
                if !closeSent { try? sendClose(code: code == 1005 ? 1000 : code) }
                return .close(SubscriptionClose(code: code, reason: reason))
            case 0x9: try send(frame(opcode: 0xA, body))  // ping → pong
            case 0xA: continue
            default:
                if opcode != 0 { first = opcode }
                payload += body
                guard header & 0x80 != 0 else { continue }
                return first == 0x1 ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload)
            }
        }
    }

    /// Sends a close frame (masked, as a client must).
    func sendClose(code: Int) throws {
        closeSent = true
        try send(frame(opcode: 0x8, [UInt8(code >> 8 & 0xFF), UInt8(code & 0xFF)]))
    }

    private func frame(opcode: UInt8, _ body: [UInt8]) -> [UInt8] {
        precondition(body.count < 126)
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        return [0x80 | opcode, 0x80 | UInt8(body.count)] + mask + body.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func fill() throws -> Bool {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "no data within the read timeout") }
            throw Failure(description: "recv: \(String(cString: strerror(errno)))")
        }
        if n == 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func readHead() throws -> String {
        let end = Array("\r\n\r\n".utf8)
        while true {
            if let r = buffer.firstRange(of: end) {
                position = r.upperBound
                return String(decoding: buffer[..<r.lowerBound], as: UTF8.self)
            }
            guard try fill() else { throw Failure(description: "the connection closed during the upgrade") }
        }
    }

    private func readByte() throws -> UInt8? {
        if position == buffer.count, try !fill() { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else { throw Failure(description: "the connection closed inside a frame") }
        }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    private func require(_ byte: UInt8?) throws -> UInt8 {
        guard let byte else { throw Failure(description: "the connection closed inside a frame") }
        return byte
    }
}
