using BenchmarkDotNet.Attributes;
using TensorServe.Backends.Onnx;
using TensorServe.Models;
using TensorServe.ModelWriter;
using TensorServe.Tensors;

namespace TensorServe.Benchmarks;

/// <summary>
/// One ONNX Runtime run through <see cref="OnnxServable"/> (input checks, pinning, output hand-off included) on the demo
/// models, written by <see cref="DemoModels"/> to a temporary directory and loaded as the server loads them.
/// </summary>
[MemoryDiagnoser]
public class OnnxPredictBenchmarks
{
    private string _root = "";
    private IServable _servable = null!;
    private SignatureDef _signature = null!;
    private Tensor[] _inputs = [];
    private int[] _outputIndices = [];

    /// <summary>Model and batch size: half_plus_two is pure overhead at batch 1; cifar10 is real convolution work.</summary>
    [Params("half_plus_two/1", "half_plus_two/1024", "cifar10/1", "cifar10/32")]
    public string Case { get; set; } = "half_plus_two/1";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Case.Split('/');
        var model = parts[0];
        var batch = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        _root = Directory.CreateTempSubdirectory("tensorserve-bench-").FullName;
        var bytes = model == "cifar10" ? DemoModels.Cifar10Cnn() : DemoModels.HalfPlusTwo();
        var versionDir = DemoModels.WriteVersion(Path.Combine(_root, model), 1, bytes);
        _servable = new OnnxServableLoader().Load(versionDir, CancellationToken.None);
        _signature = _servable.Signatures[SignatureConstants.DefaultServingKey];

        long[] shape = model == "cifar10"
            ? [batch, DemoModels.Cifar10Height, DemoModels.Cifar10Width, DemoModels.Cifar10Channels]
            : [batch];
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        var random = new Random(3);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }
        _inputs = [Tensor.FromValues<float>(DataType.Float, shape, values)];
        _outputIndices = [0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var input in _inputs)
        {
            input.Dispose();
        }
        _servable.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark]
    public int Predict()
    {
        var outputs = _servable.Run(_signature, _inputs, _outputIndices, CancellationToken.None);
        var count = 0;
        foreach (var output in outputs)
        {
            count += output.ElementCount;
            output.Dispose();
        }
        return count;
    }
}
