#if canImport(Glibc)
    import Glibc
#endif

/// Every failure of a C call in the hardware layer, typed. Made in one place (`SystemCall`),
/// so errno is read right after the call and turned into words once.
public enum HardwareError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A system call failed: the call, errno, and what it was doing (event name, file...).
    case system(call: String, errno: Int32, context: String)
    /// libpfm4 returned an error code (PFM_ERR_*), with the event or PMU it was about.
    case pfm(call: String, code: Int32, message: String, subject: String)
    /// hwloc failed (it sets errno).
    case hwloc(call: String, errno: Int32)
    /// A value the hardware layer could not interpret.
    case invalid(String)

    public var errnoValue: Int32? {
        switch self {
        case .system(_, let e, _), .hwloc(_, let e): return e
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .system(call, e, context):
            let ctx = context.isEmpty ? "" : "\(context): "
            return "\(ctx)\(call) failed with \(Errno.name(e)) (\(Errno.message(e)))"
        case let .pfm(call, code, message, subject):
            return "\(subject): \(call) failed: \(message) (libpfm4 error \(code))"
        case let .hwloc(call, e):
            return "hwloc: \(call) failed with \(Errno.name(e)) (\(Errno.message(e)))"
        case let .invalid(s):
            return s
        }
    }
}

/// errno names and messages, without Foundation.
public enum Errno {
    public static func name(_ e: Int32) -> String {
        switch e {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EINTR: return "EINTR"
        case EBADF: return "EBADF"
        case EACCES: return "EACCES"
        case EBUSY: return "EBUSY"
        case EINVAL: return "EINVAL"
        case EMFILE: return "EMFILE"
        case ENOSPC: return "ENOSPC"
        case ENODEV: return "ENODEV"
        case ENOSYS: return "ENOSYS"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case EXDEV: return "EXDEV"
        case ESRCH: return "ESRCH"
        case E2BIG: return "E2BIG"
        default: return "errno \(e)"
        }
    }

    public static func message(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "unknown error" }
        return String(cString: s)
    }
}

/// The one thin wrapper every C call goes through (in the spirit of swift-system's
/// `valueOrErrno`): runs `body`, retries on EINTR, and turns -1 into a typed error.
public enum SystemCall {
    @inline(__always)
    public static func check<T: FixedWidthInteger>(
        _ call: String, context: String = "",
        _ body: () -> T
    ) throws -> T {
        while true {
            let r = body()
            if r != -1 { return r }
            let e = errno
            if e == EINTR { continue }
            throw HardwareError.system(call: call, errno: e, context: context)
        }
    }
}
