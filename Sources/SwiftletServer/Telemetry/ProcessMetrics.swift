#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The standard Prometheus process metrics, read from `/proc` at scrape time (Linux).
struct ProcessMetrics: Sendable {
    var residentBytes: Double
    var cpuSeconds: Double
    var openFileDescriptors: Double
    var maxFileDescriptors: Double
    var startTimeSeconds: Double

    /// Reads this process's figures; nil where `/proc` is not there.
    static func current() -> ProcessMetrics? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces), numbered from 3 (`state`).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
              let startTicks = Double(fields[19]), let rssPages = Double(fields[21]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var limit = rlimit()
        getrlimit(RLIMIT_NOFILE_VALUE, &limit)
        let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return ProcessMetrics(
            residentBytes: rssPages * pageSize, cpuSeconds: (utime + stime) / ticks,
            openFileDescriptors: Double(openFiles), maxFileDescriptors: Double(limit.rlim_cur),
            startTimeSeconds: bootTime() + startTicks / ticks)
    }

    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// The boot time (`btime` in `/proc/stat`), seconds since the epoch.
    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
