// pard: pedestrian attribute recognition daemon.
// OpenBLAS picks its kernel when the process starts, so a fast kernel is ensured by re-executing with
// OPENBLAS_CORETYPE set before anything else happens.
OpenBLASEnvironment.ensureFastKernel()
Output.setUpProcess()
Pard.main()
