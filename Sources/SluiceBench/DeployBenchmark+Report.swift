import Foundation

extension DeployBenchmark.Report {
    /// The slowest worker's rollback.
    public var rollbackWorst: Double { rollbackSeconds.values.max() ?? 0 }

    /// `sluice bench deploy --json`.
    public var jsonObject: [String: Any] {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        return [
            "archive_mb": rounded(archiveMB), "pack_mb_per_s": rounded(packMBps),
            "compress_mb_per_s": rounded(compressMBps), "lz4_command_compress_mb_per_s": rounded(lz4CompressMBps),
            "compress_time_ratio": rounded(compressRatio), "decompress_mb_per_s": rounded(decompressMBps),
            "lz4_command_decompress_mb_per_s": rounded(lz4DecompressMBps), "cold_live_s": rounded(coldLiveSeconds),
            "layered_live_s": rounded(layeredLiveSeconds), "rollback_s": rounded(rollbackWorst),
            "rollback_s_by_worker": rollbackSeconds.mapValues(rounded),
        ]
    }

    public var text: String {
        [
            String(format: "archive                 %8.1f MB", archiveMB),
            String(format: "pack (tar + LZ4)        %8.0f MB/s", packMBps),
            String(
                format: "LZ4 compress            %8.0f MB/s   lz4 -1: %.0f MB/s   time ratio %.2f (target <= 1.5)",
                compressMBps, lz4CompressMBps, compressRatio),
            String(format: "LZ4 decompress          %8.0f MB/s   lz4 -d: %.0f MB/s", decompressMBps, lz4DecompressMBps),
            String(
                format: "deploy → first success  %8.2f s   (new function, worker without the artifact)", coldLiveSeconds
            ),
            String(
                format:
                    "deploy → first success  %8.2f s   (new version, one small file on a cached layer; target <= 1)",
                layeredLiveSeconds),
            String(format: "rollback → every worker %8.2f s   ", rollbackWorst)
                + "(the previous version answering on all \(rollbackSeconds.count) worker processes: "
                + rollbackSeconds.values.sorted().map { String(format: "%.2f", $0) }.joined(separator: ", ")
                + " s; target <= 2)",
        ].joined(separator: "\n")
    }

    public var figures: [BenchmarkFigure] {
        [
            BenchmarkFigure("deploy.pack_mb_per_s", packMBps, "MB/s", .higherIsBetter),
            BenchmarkFigure(
                "deploy.compress_mb_per_s", compressMBps, "MB/s", .higherIsBetter, baseline: lz4CompressMBps),
            BenchmarkFigure(
                "deploy.decompress_mb_per_s", decompressMBps, "MB/s", .higherIsBetter, baseline: lz4DecompressMBps),
            BenchmarkFigure("deploy.cold_live_s", coldLiveSeconds, "s", .lowerIsBetter),
            BenchmarkFigure("deploy.layered_live_s", layeredLiveSeconds, "s", .lowerIsBetter),
            BenchmarkFigure("deploy.rollback_s", rollbackWorst, "s", .lowerIsBetter),
        ]
    }
}
