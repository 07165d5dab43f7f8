import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Downloads a catalogued data set into a folder: each file to a temporary name, checked against
/// its MD5, then renamed into place (an interrupted or corrupt download leaves nothing under the
/// real name); archives are unpacked (the listed members only, by base name). Files already
/// present with the right checksum are kept.
public struct DataFetcher {
    public let log: (String) -> Void
    public let timeoutSeconds: Double

    public init(timeoutSeconds: Double = 600, log: @escaping (String) -> Void) {
        self.timeoutSeconds = timeoutSeconds
        self.log = log
    }

    /// Fetches `entry` into `folder` from `mirror` (a URL prefix) or the catalog's own base URL.
    /// Returns the files that now hold the data set.
    @discardableResult
    public func fetch(_ entry: DataCatalog.Entry, into folder: URL, mirror: String? = nil) throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var base = mirror ?? entry.baseURL
        if !base.hasSuffix("/") { base += "/" }
        var written: [String] = []
        for f in entry.files {
            let dest = folder.appendingPathComponent(f.file)
            var bytes: [UInt8]
            if let have = FileManager.default.contents(atPath: dest.path), MD5.hex([UInt8](have)) == f.md5 {
                log("\(f.file): already here, checksum ok")
                bytes = [UInt8](have)
            } else {
                guard let url = URL(string: base + f.file) else { throw DatasetError("\(base + f.file): not a URL") }
                log("\(f.file): downloading \(url.absoluteString)")
                bytes = try download(url)
                let got = MD5.hex(bytes)
                guard got == f.md5 else {
                    throw DatasetError(
                        "\(url.absoluteString): MD5 \(got), expected \(f.md5) (\(bytes.count) bytes): a wrong or "
                            + "truncated file; nothing was kept (try again, or another --mirror)")
                }
                try write(bytes, to: dest)
            }
            written.append(dest.path)
            if let members = f.extract {
                written += try unpack(bytes, archive: dest.path, members: members, into: folder)
            }
        }
        return written
    }

    func download(_ url: URL) throws -> [UInt8] {
        var result: Result<[UInt8], DatasetError> = .failure(DatasetError("\(url.absoluteString): no answer"))
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: url)
        request.timeoutInterval = timeoutSeconds
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            defer { done.signal() }
            if let error {
                result = .failure(
                    DatasetError(
                        "\(url.absoluteString): cannot download (\(error.localizedDescription)); is the network or "
                            + "--mirror reachable?"))
                return
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard status == 200, let data else {
                result = .failure(DatasetError("\(url.absoluteString): HTTP status \(status); check --mirror"))
                return
            }
            result = .success([UInt8](data))
        }
        task.resume()
        done.wait()
        return try result.get()
    }

    func write(_ bytes: [UInt8], to dest: URL) throws {
        let tmp = dest.deletingLastPathComponent().appendingPathComponent(".\(dest.lastPathComponent).part")
        do {
            try Data(bytes).write(to: tmp)
            if FileManager.default.fileExists(atPath: dest.path) { try FileManager.default.removeItem(at: dest) }
            try FileManager.default.moveItem(at: tmp, to: dest)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw DatasetError("\(dest.path): cannot write (\(error.localizedDescription))")
        }
    }

    func unpack(_ archive: [UInt8], archive path: String, members: [String], into folder: URL) throws -> [String] {
        let tar =
            archive.count >= 2 && archive[0] == 0x1f && archive[1] == 0x8b
            ? try DataFile.gunzip(archive, path: path) : archive
        let all = try TarArchive.members(tar, file: path)
        var out: [String] = []
        for name in members {
            guard let m = all.first(where: { ($0.path as NSString).lastPathComponent == name }) else {
                throw DatasetError("\(path): the archive has no member '\(name)'")
            }
            let dest = folder.appendingPathComponent(name)
            try write(Array(m.bytes), to: dest)
            out.append(dest.path)
        }
        log("\((path as NSString).lastPathComponent): unpacked \(members.count) files")
        return out
    }
}
