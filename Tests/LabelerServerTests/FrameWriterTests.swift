import NIOCore
import Testing

@testable import LabelerServer

/// The page framing written below NIO's WebSocket encoder: RFC 6455 §5.2 server frames (FIN,
/// binary, unmasked) with each of the three payload-length forms, back to back.
struct FrameWriterTests {
    @Test func pagesAreFramedAsTheEncoderWouldFrameThem() {
        let allocator = ByteBufferAllocator()
        let sizes = [0, 125, 126, 65_535, 65_536]
        let payloads = sizes.map { n in ByteBuffer(bytes: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }) }
        var out = ChannelFrameWriter.framed(payloads, allocator)
        for (n, payload) in zip(sizes, payloads) {
            #expect(out.readInteger(as: UInt8.self) == 0x82)
            let first = out.readInteger(as: UInt8.self)!
            #expect(first & 0x80 == 0, "never masked")
            let length: Int
            switch n {
            case ..<126: #expect(Int(first) == n); length = Int(first)
            case ...65_535: #expect(first == 126); length = Int(out.readInteger(as: UInt16.self)!)
            default: #expect(first == 127); length = Int(out.readInteger(as: UInt64.self)!)
            }
            #expect(length == n)
            #expect(out.readSlice(length: length) == payload)
        }
        #expect(out.readableBytes == 0)
    }
}
