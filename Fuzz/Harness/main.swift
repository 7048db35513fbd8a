import CFuzzerDriver
import Foundation
import PardFuzzing

// `pard-fuzz`: libFuzzer over one `FuzzTarget`, named by `$PARD_FUZZ_TARGET` (libFuzzer owns the
// command line). Built and run by `Fuzz/run.sh TARGET SECONDS`.

/// The target named by `$PARD_FUZZ_TARGET`; the process exits (status 2) listing the names otherwise.
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["PARD_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("pard-fuzz: set PARD_FUZZ_TARGET to one of \(names) (got '\(name)')\n".utf8))
        exit(2)
    }
    return target
}()

/// One input: returns 0 when the parser returned or threw its own error; traps otherwise, which libFuzzer
/// reports as a crash and saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    do {
        try selected.run(input)
    } catch where selected.isExpected(error) {
        _ = String(describing: error)  // the message is built from the input too
    } catch {
        fatalError("\(selected.rawValue): unexpected \(type(of: error)): \(error)")
    }
    return 0
}

selected.prepare()
exit(pard_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in testOneInput(data, size) })
