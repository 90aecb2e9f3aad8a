import CRdKafka
import Logging
import SluiceRecords
import SluiceSupport

/// Cluster administration: topics, their configs, groups, committed offsets and high watermarks.
public final class KafkaAdmin: Sendable {
    let client: RDKafkaClient
    let connection: KafkaConnection
    private let poller: PollThread

    private init(client: RDKafkaClient, connection: KafkaConnection) {
        self.client = client
        self.connection = connection
        self.poller = PollThread(name: "sluice-admin-poll") { client.serveMainQueue(timeoutMs: 100) }
    }

    /// Creates an admin client; it connects on first use.
    public static func make(_ connection: KafkaConnection, logger: Logger = Logger(label: "sluice.kafka")) throws
        -> KafkaAdmin
    {
        let client = try RDKafkaClient.make(
            kind: .producer, properties: connection.baseProperties.merging(connection.properties) { $1 }, events: 0,
            logger: logger)
        return KafkaAdmin(client: client, connection: connection)
    }

    deinit { poller.requestStop() }

    /// Stops the admin client's poll thread.
    public func close() async { await poller.stop(wake: client.wakeMainQueue) }

    private var timeoutMs: Int32 { Int32(connection.timeoutMs) }

    /// Every topic in the cluster, sorted by name (internal `__` topics left out).
    /// - Throws: `.unreachable` naming the broker address when the cluster does not answer in time.
    public func topics() async throws -> [TopicMetadata] {
        let timeout = timeoutMs
        return try await BlockingCalls.run { [client] in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = client.withHandle { rd_kafka_metadata($0, 1, nil, &metadata, timeout) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                if err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT {
                    throw KafkaError(.unreachable, client.unreachableMessage(waitedMs: Int(timeout)), retriable: true)
                }
                throw KafkaError.rd(err, "cannot read cluster metadata from \(client.brokerList)")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var topics: [TopicMetadata] = []
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                let name = String(cString: topic.topic)
                if name.hasPrefix("__") || topic.err != RD_KAFKA_RESP_ERR_NO_ERROR { continue }
                let partitions = (0..<Int(topic.partition_cnt)).map { p in
                    let partition = topic.partitions[p]
                    return PartitionMetadata(
                        id: partition.id, leader: partition.leader,
                        replicas: (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] })
                }
                topics.append(TopicMetadata(name: name, partitions: partitions.sorted { $0.id < $1.id }))
            }
            return topics.sorted { $0.name < $1.name }
        }
    }

    /// One topic, or nil when the cluster has no such topic.
    public func topic(_ name: String) async throws -> TopicMetadata? {
        try await topics().first { $0.name == name }
    }

    /// Creates topics; a topic that exists already is reported, not an error.
    public func createTopics(_ topics: [NewTopic]) async throws -> [String: TopicCreation] {
        guard !topics.isEmpty else { return [:] }
        return try await adminRequest(RD_KAFKA_ADMIN_OP_CREATETOPICS) { handle, options, queue in
            var errorBuffer = [CChar](repeating: 0, count: 256)
            var created: [OpaquePointer?] = []
            defer { for topic in created { rd_kafka_NewTopic_destroy(topic) } }
            for topic in topics {
                guard
                    let newTopic = rd_kafka_NewTopic_new(
                        topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorBuffer,
                        errorBuffer.count)
                else {
                    throw KafkaError(.configuration, "topic \(topic.name): \(errorText(errorBuffer))")
                }
                created.append(newTopic)
                for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                    rd_kafka_NewTopic_set_config(newTopic, key, value)
                }
            }
            created.withUnsafeMutableBufferPointer {
                rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue)
            }
        } result: { event in
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
            return Self.topicResults(results, count: count)
        }
    }

    /// Deletes topics (used by tests; `sluice topics apply` never deletes).
    public func deleteTopics(_ names: [String]) async throws -> [String: TopicCreation] {
        guard !names.isEmpty else { return [:] }
        return try await adminRequest(RD_KAFKA_ADMIN_OP_DELETETOPICS) { handle, options, queue in
            var topics: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { for topic in topics { rd_kafka_DeleteTopic_destroy(topic) } }
            topics.withUnsafeMutableBufferPointer {
                rd_kafka_DeleteTopics(handle, $0.baseAddress, $0.count, options, queue)
            }
        } result: { event in
            var count = 0
            let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
            return Self.topicResults(results, count: count)
        }
    }

    /// The configuration entries of a topic, by name.
    public func topicConfigs(_ name: String) async throws -> [String: String] {
        try await adminRequest(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS) { handle, options, queue in
            var resources: [OpaquePointer?] = [rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name)]
            defer { rd_kafka_ConfigResource_destroy(resources[0]) }
            resources.withUnsafeMutableBufferPointer {
                rd_kafka_DescribeConfigs(handle, $0.baseAddress, $0.count, options, queue)
            }
        } result: { event in
            var count = 0
            guard
                let resources = rd_kafka_DescribeConfigs_result_resources(
                    rd_kafka_event_DescribeConfigs_result(event), &count),
                count > 0, let resource = resources[0]
            else { return [:] }
            let err = rd_kafka_ConfigResource_error(resource)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError.rd(err, "cannot describe the configs of topic \(name)")
            }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(resource, &entryCount) else { return [:] }
            var configs: [String: String] = [:]
            for index in 0..<entryCount {
                guard let entry = entries[index], let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                configs[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
            }
            return configs
        }
    }

    /// The consumer groups the cluster knows, with their members.
    public func consumerGroups() async throws -> [ConsumerGroupInfo] {
        let timeout = timeoutMs
        return try await BlockingCalls.run { [client] in
            var list: UnsafePointer<rd_kafka_group_list>?
            let err = client.withHandle { rd_kafka_list_groups($0, nil, &list, timeout) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
                throw KafkaError.rd(err, "cannot list consumer groups")
            }
            defer { rd_kafka_group_list_destroy(list) }
            return (0..<Int(list.pointee.group_cnt)).map { index in
                let group = list.pointee.groups[index]
                let members = (0..<Int(group.member_cnt)).map { m in
                    let member = group.members[m]
                    var assignment: [TopicPartition] = []
                    if let bytes = member.member_assignment, member.member_assignment_size > 0 {
                        let raw = UnsafeRawBufferPointer(start: bytes, count: Int(member.member_assignment_size))
                        assignment = MemberAssignment.decode(Array(raw))
                    }
                    return GroupMemberInfo(
                        memberID: String(cString: member.member_id), clientID: String(cString: member.client_id),
                        host: String(cString: member.client_host), assignment: assignment)
                }
                return ConsumerGroupInfo(
                    name: String(cString: group.group), state: String(cString: group.state),
                    protocolType: String(cString: group.protocol_type), members: members)
            }.sorted { $0.name < $1.name }
        }
    }

    /// The offsets `group` committed for `partitions` (nil where it committed nothing).
    public func committedOffsets(group: String, partitions: [TopicPartition]) async throws -> [TopicPartition: Int64?] {
        try await groupOffsets(group: group, partitions: partitions).mapValues(\.offset)
    }

    /// The offsets `group` committed for `partitions`, with their commit times where known.
    public func groupOffsets(group: String, partitions: [TopicPartition]) async throws -> [TopicPartition:
        CommittedOffset]
    {
        let consumer = try KafkaConsumer.make(
            ConsumerConfiguration(connection: connection, groupID: group), logger: client.logger)
        return try await closing(close: consumer.close) { try await consumer.committedWithTimes(partitions) }
    }

    /// High watermarks (the offset the next record will get) of every partition of `topics`.
    ///
    /// Read from Fetch responses, not ListOffsets: the embedded broker answers ListOffsets(latest) wrongly
    /// when a batch holds several records (docs/architecture.md). Correct against Apache Kafka too.
    public func highWatermarks(topics names: [String]) async throws -> [TopicPartition: Int64] {
        let all = try await topics()
        var partitions: [TopicPartition] = []
        for name in names {
            guard let topic = all.first(where: { $0.name == name }) else {
                throw KafkaError(.unknownTopic, "topic \(name) does not exist")
            }
            partitions += topic.partitions.map { TopicPartition(name, $0.id) }
        }
        return try await WatermarkReader.read(partitions, connection: connection, logger: client.logger)
    }

    private func adminRequest<T: Sendable>(
        _ operation: rd_kafka_admin_op_t,
        submit: @escaping @Sendable (OpaquePointer, OpaquePointer, OpaquePointer) throws -> Void,
        result: @escaping @Sendable (OpaquePointer) throws -> T
    ) async throws -> T {
        let timeout = timeoutMs
        return try await BlockingCalls.run { [client] in
            try client.withHandle { handle in
                let queue = rd_kafka_queue_new(handle)!
                defer { rd_kafka_queue_destroy(queue) }
                let options = rd_kafka_AdminOptions_new(handle, operation)!
                defer { rd_kafka_AdminOptions_destroy(options) }
                var errorBuffer = [CChar](repeating: 0, count: 256)
                _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout, &errorBuffer, errorBuffer.count)
                try submit(handle, options, queue)
                guard let event = rd_kafka_queue_poll(queue, timeout + 2000) else {
                    throw KafkaError(.unreachable, client.unreachableMessage(waitedMs: Int(timeout)), retriable: true)
                }
                defer { rd_kafka_event_destroy(event) }
                let err = rd_kafka_event_error(event)
                if err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT {
                    throw KafkaError(.unreachable, client.unreachableMessage(waitedMs: Int(timeout)), retriable: true)
                }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(
                        .librdkafka(err.rawValue),
                        "admin request failed: \(String(cString: rd_kafka_event_error_string(event)))")
                }
                return try result(event)
            }
        }
    }

    private static func topicResults(_ results: UnsafeMutablePointer<OpaquePointer?>?, count: Int) -> [String:
        TopicCreation]
    {
        var outcome: [String: TopicCreation] = [:]
        for index in 0..<count {
            guard let result = results?[index] else { continue }
            let name = String(cString: rd_kafka_topic_result_name(result))
            let err = rd_kafka_topic_result_error(result)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR: outcome[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcome[name] = .alreadyExists
            default:
                let text =
                    rd_kafka_topic_result_error_string(result).map { String(cString: $0) }
                    ?? String(cString: rd_kafka_err2str(err))
                outcome[name] = .failed(text)
            }
        }
        return outcome
    }
}
