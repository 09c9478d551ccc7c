import LabelerCore

/// One libFuzzer input through every parser of outside bytes. A crash, a hang, or a broken
/// property (an accepted DAG-CBOR input that does not re-encode to itself) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func labelerFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? CBOR.decode(bytes) {
        precondition(value.encoded() == bytes, "accepted a non-canonical DAG-CBOR encoding")
    }
    if let label = try? Label(dagCBOR: bytes) {
        precondition((try? Label(dagCBOR: label.signedBytes())) == label, "a decoded label does not round-trip")
    }
    if let frame = try? Frame.parse(bytes) {
        precondition((try? Frame.parse(frame.encoded())) != nil, "a parsed frame does not re-encode")
    }
    return 0
}
