using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Validators;

namespace TensorServe.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project perf/TensorServe.Benchmarks -- --filter '*Codec*'</c> (any BenchmarkDotNet switch
/// works: <c>--job short</c>, <c>--list flat</c>, <c>--memory</c> ...). Benchmarks: REST response encoding
/// (<see cref="PredictResponseWriterBenchmarks"/>), gRPC tensor codec (<see cref="TensorProtoCodecBenchmarks"/>) and ONNX
/// predict (<see cref="OnnxPredictBenchmarks"/>), REST request decoding (<see cref="PredictRequestParserBenchmarks"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Server GC as the server runs; a Debug build of TensorServe would measure the wrong thing, so it fails the run.
        // A mutator only adds server GC to whatever job the command line picks (--job dry/short/...); a default job in the
        // config would replace that choice instead.
        var config = DefaultConfig.Instance
            .AddJob(new Job("ServerGc").WithGcServer(true).AsMutator())
            .AddValidator(JitOptimizationsValidator.FailOnError);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
