import Foundation
import SluiceFunctions
import SluiceKafka
import SluiceRecords

extension PipelineHarness {
    /// Writes a deployed version's registry record as a JSON object changed by `change` (record,
    /// manifest) straight to the registry topic under `key` (default: its name), as anyone with broker
    /// access could.
    public func forge(
        _ spec: FunctionSpec, key: String? = nil, _ change: (inout [String: Any], inout [String: Any]) -> Void
    ) async throws {
        guard var record = try JSONSerialization.jsonObject(with: Data(try spec.encoded())) as? [String: Any],
            var manifest = record["manifest"] as? [String: Any]
        else { throw TestSetupError("\(spec.name)'s record is not a JSON object with a manifest") }
        change(&record, &manifest)
        record["manifest"] = manifest
        let value = try JSONSerialization.data(withJSONObject: record)
        try await TopicPublisher.withProducer(connection: connection) { producer in
            _ = try await producer.send(
                ProducerRecord(
                    topic: PlatformTopics.standard.functions, key: Array((key ?? spec.name).utf8), value: Array(value)))
        }
    }
}
