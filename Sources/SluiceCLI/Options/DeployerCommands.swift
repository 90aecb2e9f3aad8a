import SluiceKafka
import SluiceRegistry

extension FunctionDeployer {
    /// `with` for a command: a `DeployRefusal` (not deployed, no such version…) becomes its error message.
    static func refusing<T: Sendable>(
        connection: KafkaConnection, _ body: (FunctionDeployer) async throws -> T
    ) async throws -> T {
        try await with(connection: connection) { deployer in
            do {
                return try await body(deployer)
            } catch let refusal as DeployRefusal {
                throw CLIError(refusal.message)
            }
        }
    }
}
