import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Downloads a catalogued data set into a folder. Each file streams into `.NAME.part` beside its
/// final name; an interrupted transfer is resumed from where it stopped (an HTTP Range request) on
/// the next fetch; the whole file is then checked against its size and SHA-256 (or the check the
/// catalog names) and renamed into place, so a file that fails is deleted and never used. The
/// mirror given first, then each published location, is tried in order. Archives are unpacked
/// (the listed members only, by base name); files already present and verified are kept.
public struct DataFetcher {
    public let log: (String) -> Void
    public let timeoutSeconds: Double
    /// Checks for files without a published digest, by the catalog's `checked_by` name.
    public let checks: [String: (URL) throws -> Void]

    public init(
        timeoutSeconds: Double = 600, checks: [String: (URL) throws -> Void] = [:], log: @escaping (String) -> Void
    ) {
        (self.timeoutSeconds, self.checks, self.log) = (timeoutSeconds, checks, log)
    }

    /// Fetches `entry` into `folder` from `mirror` (a URL prefix) or the catalog's locations.
    /// Returns the files that now hold the data set.
    @discardableResult
    public func fetch(_ entry: DataCatalog.Entry, into folder: URL, mirror: String? = nil) throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let bases = ((mirror.map { [$0] } ?? []) + entry.baseURLs).map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        var written: [String] = []
        for f in entry.files {
            let dest = folder.appendingPathComponent(f.file)
            if FileManager.default.fileExists(atPath: dest.path), (try? verify(f, at: dest, source: dest.path)) != nil {
                log("\(f.file): already here, verified")
            } else {
                try download(f, to: dest, from: bases)
            }
            written.append(dest.path)
            if let members = f.extract { written += try unpack(dest, members: members, into: folder) }
        }
        return written
    }

    /// Tries each location in turn; the first that gives a verified file wins.
    func download(_ f: DataCatalog.File, to dest: URL, from bases: [String]) throws {
        var failures: [String] = []
        for base in bases {
            guard let url = URL(string: base + f.file) else { failures.append("\(base + f.file): not a URL"); continue }
            let part = dest.deletingLastPathComponent().appendingPathComponent(".\(dest.lastPathComponent).part")
            do {
                try transfer(url, into: part)
                try verify(f, at: part, source: url.absoluteString)
                if FileManager.default.fileExists(atPath: dest.path) { try FileManager.default.removeItem(at: dest) }
                try FileManager.default.moveItem(at: part, to: dest)
                return
            } catch let e as DataFetchFailure {
                failures.append(e.description)
                let kept = (try? FileManager.default.attributesOfItem(atPath: part.path)[.size] as? Int) ?? 0
                if e.discardPartial || kept == 0 { try? FileManager.default.removeItem(at: part) }
            }
        }
        let folder = dest.deletingLastPathComponent().path
        let why = failures.joined(separator: "; ")
        throw DatasetError("\(f.file): \(why); download it by hand into \(folder) or give a reachable --mirror")
    }

    /// Size, then SHA-256 (or the named check).
    func verify(_ f: DataCatalog.File, at file: URL, source: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil
        if let want = f.size, let size, size != want {
            throw DataFetchFailure(
                "\(source): \(size) bytes, expected \(want); the file is wrong or cut short and was deleted",
                discardPartial: true)
        }
        if let want = f.sha256 {
            let got = try SHA256.hex(file: file)
            guard got == want.lowercased() else {
                throw DataFetchFailure(
                    "\(source): SHA-256 \(got), expected \(want); the file was deleted", discardPartial: true)
            }
        } else if let name = f.checkedBy {
            guard let check = checks[name] else {
                throw DataFetchFailure("\(source): no check '\(name)' in this build", discardPartial: true)
            }
            do { try check(file) } catch {
                throw DataFetchFailure(
                    "\(source): failed the \(name) check (\(error)); the file was deleted", discardPartial: true)
            }
        }
    }

    /// Streams `url` into `part`, resuming after the bytes already there when the server honours
    /// Range (206); a 200 answer starts the file again.
    func transfer(_ url: URL, into part: URL) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: part.path) { fm.createFile(atPath: part.path, contents: nil) }
        let have = (try? fm.attributesOfItem(atPath: part.path)[.size] as? Int) ?? 0
        var request = URLRequest(url: url)
        request.timeoutInterval = timeoutSeconds
        if have > 0 {
            request.setValue("bytes=\(have)-", forHTTPHeaderField: "Range")
            log("\(url.lastPathComponent): resuming \(url.absoluteString) after \(have) bytes")
        } else {
            log("\(url.lastPathComponent): downloading \(url.absoluteString)")
        }
        let sink = try PartFileSink(part)
        let session = URLSession(configuration: .ephemeral, delegate: sink, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        sink.done.wait()
        if let status = sink.status, status == 416 && have > 0 { return }  // already whole: verification decides
        if let error = sink.error {
            throw DataFetchFailure(
                "\(url.absoluteString): cannot download (\(error.localizedDescription)); \(sink.received) bytes kept "
                    + "for a resumed fetch", discardPartial: false)
        }
        guard let status = sink.status, status == 200 || status == 206 else {
            throw DataFetchFailure("\(url.absoluteString): HTTP status \(sink.status ?? 0)", discardPartial: have == 0)
        }
    }

    func unpack(_ archive: URL, members: [String], into folder: URL) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: archive))
        let tar =
            bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
            ? try DataFile.gunzip(bytes, path: archive.path) : bytes
        let all = try TarArchive.members(tar, file: archive.path)
        var out: [String] = []
        for name in members {
            guard let m = all.first(where: { ($0.path as NSString).lastPathComponent == name }) else {
                throw DatasetError("\(archive.path): the archive has no member '\(name)'")
            }
            let dest = folder.appendingPathComponent(name)
            do { try Data(m.bytes).write(to: dest, options: .atomic) } catch {
                throw DatasetError("\(dest.path): cannot write (\(error.localizedDescription))")
            }
            out.append(dest.path)
        }
        log("\(archive.lastPathComponent): unpacked \(members.count) files")
        return out
    }
}

/// One location's failure: what happened, and whether the partial file is worth keeping.
struct DataFetchFailure: Error, CustomStringConvertible {
    let description: String
    let discardPartial: Bool
    init(_ description: String, discardPartial: Bool) {
        (self.description, self.discardPartial) = (description, discardPartial)
    }
}

/// Appends a response body to the .part file as it arrives (after a 206), or rewrites it (200).
final class PartFileSink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let handle: FileHandle
    let done = DispatchSemaphore(value: 0)
    var status: Int?
    var error: Error?
    var received = 0

    init(_ part: URL) throws {
        handle = try FileHandle(forWritingTo: part)
        super.init()
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode
        switch status {
        case 206: _ = try? handle.seekToEnd()
        case 200: try? handle.truncate(atOffset: 0)
        default:
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        handle.write(data)
        received += data.count
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? handle.close()
        if let e = error as NSError?, !(e.domain == NSURLErrorDomain && e.code == NSURLErrorCancelled) {
            self.error = e
        }
        done.signal()
    }
}
