import Foundation
import SluiceArtifacts
import SluiceFunctions
import SluiceRecords
import SluiceTesting
import Testing

/// Packing code folders: the same tree gives the same bytes, what must not be packed is refused with its
/// path, and what unpacks is what was packed.
@Suite("Artifacts: deterministic archives, LZ4, the cache")
struct CodeArchiveTests {
    /// A fresh folder holding `files` (path → content); `executable` ones get mode 0755.
    func folder(_ files: [String: String], executable: Set<String> = []) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("pack")).path
        for (path, content) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: false, encoding: .utf8)
            if executable.contains(path) { chmod(full, 0o755) }
        }
        return root
    }

    @Test("The same folder packed twice gives the same digest; a copy made later too; touching one file changes it")
    func deterministic() throws {
        let files = [
            "handler.py": "def main(e, c):\n    return e\n", "lib/util.py": "X = 1\n", "run.sh": "#!/bin/sh\n",
        ]
        let first = try folder(files, executable: ["run.sh"])
        let a = try Artifact.pack(folder: first, limit: 1 << 20)
        let b = try Artifact.pack(folder: first, limit: 1 << 20)
        #expect(a.digest == b.digest)
        #expect(a.bytes == b.bytes)
        // Another folder with the same tree, written at another time in another order.
        let second = try folder(files, executable: ["run.sh"])
        #expect(try Artifact.pack(folder: second, limit: 1 << 20).digest == a.digest)
        try "X = 2\n".write(toFile: second + "/lib/util.py", atomically: false, encoding: .utf8)
        #expect(try Artifact.pack(folder: second, limit: 1 << 20).digest != a.digest)
        chmod(first + "/run.sh", 0o644)
        #expect(try Artifact.pack(folder: first, limit: 1 << 20).digest != a.digest, "the executable bit is content")
    }

    @Test("The archive is a tar that `tar` lists, with fixed owners and times; LZ4 frames that `lz4 -d` reads")
    func standardFormats() async throws {
        let root = try folder(["a.py": "A\n", "deep/" + String(repeating: "d", count: 90) + "/b.py": "B\n"])
        let artifact = try Artifact.pack(folder: root, limit: 1 << 20)
        let file = root + ".tar.lz4"
        try Data(artifact.bytes).write(to: URL(fileURLWithPath: file))
        let listing = try await CommandRunner.run(
            "/bin/sh", ["-c", "lz4 -dc '\(file)' | tar -tv --numeric-owner --full-time"])
        #expect(listing.status == 0, "\(listing.errors)")
        #expect(listing.output.contains("0/0"), "\(listing.output)")
        #expect(listing.output.contains("1970-01-01"), "\(listing.output)")
        #expect(listing.output.contains("/b.py"), "\(listing.output)")
        #expect(
            try LZ4Frame.decompress(try LZ4Frame.compress(Array(repeating: 7, count: 5 << 20)), limit: 6 << 20).count
                == 5 << 20)
        #expect(throws: LZ4Frame.Failure.self) {
            try LZ4Frame.decompress(Array(artifact.bytes.dropLast(3)), limit: 1 << 20)
        }
        #expect(throws: LZ4Frame.Failure.self) {
            try LZ4Frame.decompress(try LZ4Frame.compress(Array(repeating: 1, count: 4096)), limit: 4095)
        }
    }

    @Test("Refused with the path named: a link that leaves the folder, a fifo, an archive over the limit")
    func refusals() throws {
        let root = try folder(["handler.py": "pass\n"])
        symlink("handler.py", root + "/inside")
        #expect(throws: Never.self) { try Artifact.pack(folder: root, limit: 1 << 20) }
        symlink("../../etc/passwd", root + "/escape")
        let escape = #expect(throws: ArtifactError.self) { try Artifact.pack(folder: root, limit: 1 << 20) }
        #expect(escape?.description.contains("/escape") == true, "\(String(describing: escape))")
        #expect(escape?.description.contains("leaves the folder") == true)
        unlink(root + "/escape")
        mkfifo(root + "/pipe", 0o644)
        let fifo = #expect(throws: ArtifactError.self) { try Artifact.pack(folder: root, limit: 1 << 20) }
        #expect(fifo?.description.contains("/pipe") == true, "\(String(describing: fifo))")
        unlink(root + "/pipe")
        try String(repeating: "x", count: 9000).write(toFile: root + "/big.bin", atomically: false, encoding: .utf8)
        let big = #expect(throws: ArtifactError.self) { try Artifact.pack(folder: root, limit: 8192) }
        #expect(big?.description.contains("big.bin") == true && big?.description.contains("max_artifact_bytes") == true)
    }

    @Test(
        "What unpacks is what was packed, read-only; bytes that are not the digest's are refused; a digest is unpacked once"
    )
    func cacheRoundTrip() throws {
        let root = try folder(
            ["handler.py": "def main(e, c):\n    return 1\n", "bin/tool": "#!/bin/sh\n"], executable: ["bin/tool"])
        symlink("handler.py", root + "/alias.py")
        let artifact = try Artifact.pack(folder: root, limit: 1 << 20)
        let cache = ArtifactCache(
            root: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("cache")).path)
        var tampered = artifact.bytes
        tampered[tampered.count / 2] ^= 0xff
        let refusal = #expect(throws: ArtifactError.self) {
            try cache.store(tampered, digest: artifact.digest, limit: 1 << 20)
        }
        #expect(refusal?.description.contains("tampered") == true)
        #expect(cache.folder(for: artifact.digest) == nil)
        let unpacked = try cache.store(artifact.bytes, digest: artifact.digest, limit: 1 << 20)
        #expect(
            try String(contentsOfFile: unpacked + "/handler.py", encoding: .utf8) == "def main(e, c):\n    return 1\n")
        #expect(FileManager.default.isExecutableFile(atPath: unpacked + "/bin/tool"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: unpacked + "/alias.py") == "handler.py")
        #expect(!FileManager.default.isWritableFile(atPath: unpacked + "/handler.py") || getuid() == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: unpacked)[.posixPermissions] as? Int
        #expect(mode == 0o555)
        #expect(try Artifact.pack(folder: unpacked, limit: 1 << 20).digest == artifact.digest, "a repack is the same")
        _ = try cache.store(artifact.bytes, digest: artifact.digest, limit: 1 << 20)
        #expect(cache.unpacks == 1)
    }

    /// A ustar header block for `name` of `type` ("0" file, "2" link to `link`), with a right checksum.
    func header(_ name: String, type: Character, link: String = "") -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        let fields = [
            (0, name), (100, "0000644"), (108, "0000000"), (116, "0000000"), (124, "00000000000"),
            (136, "00000000000"), (157, link), (257, "ustar"),
        ]
        for (offset, text) in fields {
            for (index, byte) in Array(text.utf8).enumerated() { header[offset + index] = byte }
        }
        header[156] = type.asciiValue!
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = String(header.reduce(0) { $0 + Int($1) }, radix: 8)
        for (index, byte) in Array((String(repeating: "0", count: 6 - sum.count) + sum).utf8).enumerated() {
            header[148 + index] = byte
        }
        header[154] = 0
        return header
    }

    @Test("A hostile archive is refused: a path with .., an absolute path, a link out, a file written through a link")
    func hostileArchives() throws {
        let cases: [(String, [UInt8])] = [
            ("..", header("../escape", type: "0")),
            ("absolute", header("/tmp/escape", type: "0")),
            ("leaves the folder", header("out", type: "2", link: "../../etc")),
            ("through a link", header("l", type: "2", link: "d") + header("l/f", type: "0")),
        ]
        for (reason, entries) in cases {
            let target = try folder(["keep": ""])
            let refusal = #expect(throws: ArtifactError.self) {
                try CodeArchive.unpack(entries + [UInt8](repeating: 0, count: 1024), into: target)
            }
            #expect(refusal?.description.contains(reason) == true, "\(reason): \(String(describing: refusal))")
        }
        // The same blocks with a sound entry do unpack (the headers above are well formed).
        let target = try folder(["keep": ""])
        #expect(
            try CodeArchive.unpack(header("fine", type: "0") + [UInt8](repeating: 0, count: 1024), into: target) == 1)
    }

    @Test(
        "Eviction removes only artifacts no deployed version keeps and no worker used within the idle time, and old staging folders"
    )
    func eviction() throws {
        let cache = ArtifactCache(
            root: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("evict")).path)
        var digests: [String] = []
        for content in ["old", "kept", "fresh", "touched"] {
            let artifact = try Artifact.pack(folder: try folder(["f.txt": content]), limit: 1 << 20)
            _ = try cache.store(artifact.bytes, digest: artifact.digest, limit: 1 << 20)
            digests.append(artifact.digest)
        }
        let (old, kept, fresh, touched) = (digests[0], digests[1], digests[2], digests[3])
        let staging = cache.root + "/.staging-left-by-a-crash"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        func age(_ path: String, hours: Double) {
            let then = Date().addingTimeInterval(-hours * 3600).timeIntervalSince1970
            var times = [timespec](repeating: timespec(tv_sec: Int(then), tv_nsec: 0), count: 2)
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
        for digest in [old, kept, touched] { age(cache.folder(for: digest)!, hours: 2) }
        age(staging, hours: 2)
        cache.touch(touched)
        let evicted = cache.evict(keeping: [kept], idle: 3600)
        #expect(evicted == [old])
        #expect(cache.folder(for: old) == nil)
        #expect([kept, fresh, touched].allSatisfy { cache.folder(for: $0) != nil })
        #expect(!FileManager.default.fileExists(atPath: staging))
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.root)
        #expect(left.count == 3 && !left.contains { $0.hasPrefix(".") }, "\(left)")
        #expect(cache.evict(keeping: [kept], idle: 3600).isEmpty, "a touched or fresh artifact went")
    }
}
