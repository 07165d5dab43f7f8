#if canImport(Glibc)
    import Glibc
#endif

/// The machine's host name (`gethostname`): a label for reports, never a key.
public enum HostName {
    public static func current() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        if gethostname(&buf, buf.count) == 0 {
            let s = String(cString: buf)
            if !s.isEmpty { return s.replacingOccurrences(of: "/", with: "_") }
        }
        return "localhost"
    }
}
