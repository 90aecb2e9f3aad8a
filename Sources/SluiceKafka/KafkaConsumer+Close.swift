import CRdKafka

extension KafkaConsumer {
    /// `rd_kafka_consumer_close`, which may block without end, made bounded: the close runs in librdkafka's
    /// background and the events it sends (the final revocation among them) are served here until it
    /// ends or time is up.
    static func closeWithin(_ limitMs: Int, handle: OpaquePointer, control: PartitionControl) -> Bool {
        guard let queue = rd_kafka_queue_new(handle) else { return false }
        defer { rd_kafka_queue_destroy(queue) }
        if let error = rd_kafka_consumer_close_queue(handle, queue) {
            rd_kafka_error_destroy(error)
            return false
        }
        let deadline = ContinuousClock.now + .milliseconds(limitMs)
        while rd_kafka_consumer_closed(handle) == 0 {
            if ContinuousClock.now > deadline { return false }
            guard let event = rd_kafka_queue_poll(queue, 100) else { continue }
            defer { rd_kafka_event_destroy(event) }
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE {
                control.rebalance(
                    handle: handle, err: rd_kafka_event_error(event),
                    partitions: rd_kafka_event_topic_partition_list(event))
            }
        }
        return true
    }
}
