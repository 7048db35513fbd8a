import Foundation
import PromptPAR

/// Makes sure OpenBLAS runs a kernel for this CPU, not its slow generic fallback.
enum OpenBLASEnvironment {
    /// If OpenBLAS chose a generic kernel and the user did not set `OPENBLAS_CORETYPE`, re-executes this
    /// process (same arguments, same pid) with the core type that suits the CPU. OpenBLAS reads the
    /// variable in its load-time constructor, so setting it later in-process would be too late.
    static func ensureFastKernel() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["PARD_NO_REEXEC"] == nil,
              BLAS.genericCores.contains(BLAS.coreName),
              let core = BLAS.recommendedCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("PARD_NO_REEXEC", "1", 1)  // never loop
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", argv)
        // execv returned: carry on with the slow kernel, but say so.
        Output.message("pard: warning: could not re-execute with OPENBLAS_CORETYPE=\(core) (\(String(cString: strerror(errno)))); OpenBLAS uses its slow \(BLAS.coreName) kernel")
    }
}
