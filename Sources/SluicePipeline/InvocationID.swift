import Crypto
import Foundation
import SluiceRecords

extension InvocationRequest {
    /// The deterministic id of the invocation of `function` for one trigger record: a router that
    /// crashes and reads the record again produces the same id.
    public static func derivedID(topic: String, partition: Int32, offset: Int64, function: String) -> String {
        let digest = SHA256.hash(data: Data("\(topic)\u{0}\(partition)\u{0}\(offset)\u{0}\(function)".utf8))
        return "inv_" + Hex.encode(digest.prefix(12))
    }
}
