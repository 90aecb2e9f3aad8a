import Foundation
import SluiceRegistry
import SluiceTesting
import Testing

@Suite("The registry's index of trigger topics follows deploys, redeploys and deletes", .timeLimit(.minutes(5)))
struct RegistryIndexTests {
    @Test("Subscribers of each topic, by name, after two deploys, a redeploy that moves a trigger and a delete")
    func subscribersFollowChanges() async throws {
        let harness = try await PipelineHarness.make()
        let (a, b, c) = (uniqueName("idx-a"), uniqueName("idx-b"), uniqueName("idx-c"))
        let first = uniqueName("idx1")
        let second = uniqueName("idx2")
        func deploy(_ name: String, triggers: [String]) async throws {
            _ = try await harness.deploy(
                try harness.writeFunction(
                    "name: \(name)\ntenant: acme\nruntime: python3\nhandler: handler.main\n"
                        + "event_triggers: [\(triggers.joined(separator: ", "))]\n",
                    files: ["handler.py": "def main(event, context):\n    return event\n"]))
        }
        func subscribers(_ registry: FunctionRegistry, _ topic: String) -> [String] {
            registry.subscribers(of: topic).map(\.name)
        }

        try await deploy(first, triggers: [a, b])
        try await deploy(second, triggers: [b, b])
        var registry = try await FunctionRegistry.load(connection: harness.connection)
        #expect(subscribers(registry, a) == [first])
        #expect(subscribers(registry, b) == [first, second], "in name order, each once")
        #expect(registry.triggerTopics.isSuperset(of: [a, b]))
        await registry.close()

        try await deploy(first, triggers: [c])
        registry = try await FunctionRegistry.load(connection: harness.connection)
        #expect(subscribers(registry, a) == [])
        #expect(subscribers(registry, b) == [second])
        #expect(subscribers(registry, c) == [first])
        #expect(!registry.triggerTopics.contains(a))
        await registry.close()

        try await FunctionDeployer.with(connection: harness.connection) { try await $0.delete(name: second) }
        registry = try await FunctionRegistry.load(connection: harness.connection)
        #expect(subscribers(registry, b) == [])
        #expect(subscribers(registry, c) == [first])
        #expect(!registry.triggerTopics.contains(b))
        await registry.close()
    }
}
